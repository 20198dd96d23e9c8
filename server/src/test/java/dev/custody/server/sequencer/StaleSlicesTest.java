package dev.custody.server.sequencer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.read.LogReader;
import dev.custody.server.storage.LogStorage;
import dev.custody.testing.NaiveTree;
import dev.custody.tiles.Tiles;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch whose commit failed may still have reached the store (its WAL record survived): its
 * slices then lie beyond the edge the next batch writes, holding nodes of leaves that were never
 * logged. Tiles, proofs and a restarted edge must never show them: every reader takes the width the
 * tree size implies, and a tile stops at its first short slice.
 */
class StaleSlicesTest {
  @TempDir Path dir;

  private final OpaqueAdmission admission = new OpaqueAdmission();

  private List<Admitted> entries(String tag, int from, int count) throws Exception {
    List<Admitted> out = new ArrayList<>();
    for (int i = from; i < from + count; i++) out.add(admission.admit((tag + " " + i).getBytes()));
    return out;
  }

  @Test
  void slicesOfAFailedBatchNeverShow() throws Exception {
    Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("test/log", new SecureRandom());
    Integrator integrator = new Integrator("test/log", List.of(key));
    List<byte[]> logged = new ArrayList<>();
    try (LogStorage s = LogStorage.open(dir)) {
      TreeEdge edge = integrator.resume(s).edge();
      Integrator.Result real = integrator.integrate(edge, entries("real", 0, 100), 1);
      s.commit(real.batch());
      real.placed().forEach(p -> logged.add(p.leafHash()));
      // 300 entries whose commit "failed" after reaching the store: slices 6..25 of stratum 0 and
      // more.
      Integrator.Result ghost = integrator.integrate(real.edge(), entries("ghost", 100, 300), 2);
      s.commit(ghost.batch());
      // The next batch starts from the real edge again, and ends exactly on a slice boundary (112).
      Integrator.Result next = integrator.integrate(real.edge(), entries("next", 100, 12), 3);
      next.batch().undo(ghost.batch());
      s.commit(next.batch());
      next.placed().forEach(p -> logged.add(p.leafHash()));
      check(s, logged);
    }
    try (LogStorage s =
        LogStorage.open(dir)) { // the edge reloaded from the store, then growing again
      TreeEdge edge = integrator.resume(s).edge();
      assertEquals(112, edge.size());
      Integrator.Result more = integrator.integrate(edge, entries("more", 112, 37), 4);
      s.commit(more.batch());
      more.placed().forEach(p -> logged.add(p.leafHash()));
      assertArrayEquals(NaiveTree.rootOf(logged), more.edge().root());
      check(s, logged);
    }
  }

  private static void check(LogStorage s, List<byte[]> logged) {
    NaiveTree naive = new NaiveTree(logged);
    int size = logged.size();
    LogReader reader = new LogReader(s);
    byte[] tile = reader.tile(0, 0, Tiles.width(0, 0, size));
    assertEquals(size * 32, tile.length);
    for (int i = 0; i < size; i++) {
      assertArrayEquals(logged.get(i), Arrays.copyOfRange(tile, 32 * i, 32 * i + 32), "node " + i);
    }
    for (int i = 0; i < size; i++) {
      List<byte[]> want = naive.path(i, size);
      List<byte[]> got = reader.inclusion(i, size);
      assertEquals(want.size(), got.size());
      for (int k = 0; k < want.size(); k++)
        assertArrayEquals(want.get(k), got.get(k), "proof of " + i);
    }
    assertArrayEquals(naive.root(size), reader.root(size));
    for (int from = 1; from < size; from += 7) {
      List<byte[]> want = naive.proof(from, size);
      List<byte[]> got = reader.consistency(from, size);
      assertEquals(want.size(), got.size());
      for (int k = 0; k < want.size(); k++)
        assertArrayEquals(want.get(k), got.get(k), "consistency " + from);
    }
  }
}
