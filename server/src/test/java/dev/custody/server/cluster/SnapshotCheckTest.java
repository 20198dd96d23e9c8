package dev.custody.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.Integrator;
import dev.custody.server.storage.AppendBatch;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A snapshot replaces a node's state only when it is this log's and extends what the node holds:
 * signed by the log's keys, its root recomputed from its own leaves, and consistent with the node's
 * tree. Whoever can hand a node a snapshot (a peer, a copied folder) cannot make it sign a root.
 */
class SnapshotCheckTest {
  private static final String ORIGIN = "t/log";
  @TempDir Path dir;
  private final Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate(ORIGIN, new SecureRandom());
  private final List<LogStorage> open = new ArrayList<>();

  @AfterEach
  void close() {
    open.forEach(LogStorage::close);
  }

  private LogStorage store(String name) {
    LogStorage s = LogStorage.open(dir.resolve(name));
    open.add(s);
    return s;
  }

  /** Appends opaque entries "tag i" for i in [from, to), signed by {@code by}. */
  private static void append(
      LogStorage s, Ed25519NoteKeys.Signer by, String tag, int from, int to) {
    Integrator in = new Integrator(ORIGIN, List.of(by));
    Integrator.Resumed r = in.resume(s);
    List<Admitted> entries = new ArrayList<>();
    for (int i = from; i < to; i++) entries.add(Admitted.opaque((tag + " " + i).getBytes()));
    s.commit(in.integrate(r.edge(), entries, 1).batch());
  }

  private LogStateMachine machineOver(LogStorage s, List<String> stopped) {
    return new LogStateMachine(
        s,
        ORIGIN,
        List.of(key),
        (a, b) -> {},
        () -> h -> Optional.empty(),
        Duration.ZERO,
        stopped::add,
        System::currentTimeMillis);
  }

  @Test
  void aSnapshotThatExtendsThisNodesTreeIsAdopted() {
    LogStorage mine = store("mine");
    append(mine, key, "e", 0, 5);
    LogStorage snap = store("snap");
    append(snap, key, "e", 0, 5);
    append(snap, key, "e", 5, 12);
    assertEquals(Optional.empty(), machineOver(mine, new ArrayList<>()).snapshotProblem(snap));
    assertEquals(
        Optional.empty(), machineOver(store("empty"), new ArrayList<>()).snapshotProblem(snap));
  }

  @Test
  void aSnapshotSignedByAnotherKeyIsRefused() {
    LogStorage snap = store("snap");
    append(snap, Ed25519NoteKeys.generate(ORIGIN, new SecureRandom()), "e", 0, 5);
    assertTrue(
        machineOver(store("mine"), new ArrayList<>())
            .snapshotProblem(snap)
            .orElseThrow()
            .contains("not signed by this log's keys"));
  }

  @Test
  void aSnapshotWhoseLeavesAreNotItsCheckpointsIsRefused() {
    LogStorage real = store("real");
    append(real, key, "e", 0, 6);
    LogStorage forged = store("forged");
    append(forged, key, "x", 0, 6);
    // The real log's signed checkpoint over someone else's leaves.
    AppendBatch b = new AppendBatch();
    b.setCheckpoint(6, real.latestCheckpoint().orElseThrow(), forged.compactRange().orElseThrow());
    forged.commit(b);
    assertTrue(
        machineOver(store("mine"), new ArrayList<>())
            .snapshotProblem(forged)
            .orElseThrow()
            .contains("not the root its checkpoint states"));
  }

  @Test
  void aSnapshotThatForksThisNodesTreeIsRefusedEvenWhenSignedByTheLogsKey() {
    LogStorage mine = store("mine");
    append(mine, key, "e", 0, 4);
    LogStorage other = store("other"); // an old copy that went its own way, under the same key
    append(other, key, "e", 0, 2);
    append(other, key, "y", 2, 9);
    assertTrue(
        machineOver(mine, new ArrayList<>())
            .snapshotProblem(other)
            .orElseThrow()
            .contains("a fork"));
    LogStorage smaller = store("smaller");
    append(smaller, key, "e", 0, 2);
    assertTrue(
        machineOver(mine, new ArrayList<>())
            .snapshotProblem(smaller)
            .orElseThrow()
            .contains("smaller"));
  }

  @Test
  void aStoreCopiedFromAnotherLogIsNeverSignedAgainAtStart() {
    LogStorage s = store("copied");
    append(s, Ed25519NoteKeys.generate(ORIGIN, new SecureRandom()), "e", 0, 3);
    StorageException e =
        assertThrows(StorageException.class, () -> new Integrator(ORIGIN, List.of(key)).resume(s));
    assertTrue(e.getMessage().contains("no signature by this log's keys"), e.getMessage());
  }
}
