package dev.custody.server.cluster;

import dev.custody.io.DurableFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;

/**
 * Snapshots of a node's store, in the Raft storage's state machine folder: one folder per snapshot,
 * {@code snapshot.TERM_INDEX}, holding a RocksDB checkpoint of the store as it was after applying
 * that Raft index. Ratis sends these files to a follower that is too far behind for the log (and
 * replaces the follower's state machine folder with them); the node then copies the snapshot into
 * its live store ({@link LogStateMachine}). A snapshot folder appears by rename, so one that exists
 * is whole. The two newest are kept, and any younger than a minute: one may be on its way to a
 * follower, and deleting it would cut the transfer short.
 *
 * <p>Thread-safe: Ratis reads the latest snapshot from its own threads.
 */
final class SnapshotStore implements StateMachineStorage {
  private static final Pattern NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  private static final int KEEP = 2;
  private static final long KEEP_YOUNGER_THAN_MILLIS = 60_000;

  record Snapshot(Path dir, TermIndex position) {}

  private volatile Path root;
  private volatile SnapshotInfo latest;

  @Override
  public void init(RaftStorage raftStorage) throws IOException {
    root = raftStorage.getStorageDir().getStateMachineDir().toPath();
    Files.createDirectories(root);
    // A snapshot being written when the node died: never renamed, never offered; remove it.
    try (Stream<Path> all = Files.list(root)) {
      for (Path p :
          (Iterable<Path>)
              all.filter(p -> p.getFileName().toString().startsWith("tmp."))::iterator) {
        deleteTree(p);
      }
    }
    refresh();
  }

  /**
   * Rereads the folder: after this node wrote a snapshot, or Ratis installed one from the leader.
   */
  synchronized void refresh() throws IOException {
    Optional<Snapshot> newest = newest();
    if (newest.isEmpty()) {
      latest = null;
      return;
    }
    List<FileInfo> files = new ArrayList<>();
    try (Stream<Path> all = Files.walk(newest.get().dir())) {
      // Ratis writes an .md5 beside each file it installs; those are not part of the store.
      for (Path p :
          (Iterable<Path>)
              all.filter(Files::isRegularFile)
                      .filter(p -> !p.getFileName().toString().endsWith(".md5"))
                      .sorted()
                  ::iterator) {
        files.add(new FileInfo(p, null));
      }
    }
    latest = new FileListSnapshotInfo(files, newest.get().position());
  }

  /** The newest whole snapshot in the folder. */
  Optional<Snapshot> newest() throws IOException {
    return all().stream().max(Comparator.comparingLong(s -> s.position().getIndex()));
  }

  private List<Snapshot> all() throws IOException {
    List<Snapshot> out = new ArrayList<>();
    if (root == null || !Files.isDirectory(root)) return out;
    try (Stream<Path> all = Files.list(root)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        if (m.matches() && Files.isDirectory(p)) {
          out.add(
              new Snapshot(
                  p, TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)))));
        }
      }
    }
    return out;
  }

  /** The folder a snapshot at this position has, whether or not it exists yet. */
  Path folderFor(TermIndex at) {
    return root.resolve("snapshot." + at.getTerm() + "_" + at.getIndex());
  }

  /** A fresh temporary folder name beside the snapshots (not created). */
  Path temporary() {
    return root.resolve("tmp." + System.nanoTime());
  }

  /**
   * Publishes a written snapshot under its final name, durably, then drops all but the newest few.
   */
  synchronized void publish(Path written, TermIndex at) throws IOException {
    Path target = folderFor(at);
    Files.move(written, target, StandardCopyOption.ATOMIC_MOVE);
    DurableFiles.forceFolder(root);
    List<Snapshot> all = all();
    all.sort(Comparator.comparingLong(s -> -s.position().getIndex()));
    long now = System.currentTimeMillis();
    for (int i = KEEP; i < all.size(); i++) {
      Path d = all.get(i).dir();
      if (now - Files.getLastModifiedTime(d).toMillis() > KEEP_YOUNGER_THAN_MILLIS) deleteTree(d);
    }
    refresh();
  }

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return latest;
  }

  @Override
  public void format() {
    // Nothing to format: the folder is created at init.
  }

  @Override
  public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) {
    // publish() keeps the newest few itself.
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator)
        Files.deleteIfExists(p);
    }
  }

  @Override
  public String toString() {
    return "snapshots in "
        + Optional.ofNullable(root).map(Path::toString).orElse("(not initialised)");
  }
}
