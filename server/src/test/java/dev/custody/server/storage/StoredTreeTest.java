package dev.custody.server.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.read.LogReader;
import dev.custody.server.sequencer.GroupCommitSequencer;
import dev.custody.server.sequencer.Sequenced;
import dev.custody.testing.NaiveTree;
import dev.custody.tiles.Tiles;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sequencer and RocksDB store against the naive RFC 6962 tree: random batch sizes, restarts in
 * between, past the 65,536 leaves where a second tile level fills. Every stored tile, root and
 * proof must equal the reference.
 */
class StoredTreeTest {
  private static final long SEED = Long.getLong("custody.seed", System.nanoTime());

  @TempDir Path dir;

  @Test
  void proofsAndTilesFromStorageEqualTheNaiveTreeAcrossRestarts() throws Exception {
    Random rnd = new Random(SEED);
    Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("test/log", new SecureRandom());
    OpaqueAdmission admission = new OpaqueAdmission();
    List<byte[]> leafHashes = new ArrayList<>();
    int total = 65_536 + 300 + rnd.nextInt(200);
    LogStorage storage = LogStorage.open(dir);
    GroupCommitSequencer seq =
        new GroupCommitSequencer(storage, "test/log", List.of(key), 16384, 4096, (n, t) -> {});
    int restarts = 0;
    while (leafHashes.size() < total) {
      int k = Math.min(total - leafHashes.size(), 1 + rnd.nextInt(rnd.nextBoolean() ? 7 : 3000));
      List<CompletableFuture<Sequenced>> fs = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        byte[] e = ByteBuffer.allocate(8).putLong(leafHashes.size() + i).array();
        fs.add(seq.add(admission.admit(e)));
      }
      for (int i = 0; i < k; i++) {
        Sequenced s = fs.get(i).get(30, TimeUnit.SECONDS);
        assertEquals(leafHashes.size() + i, s.index(), "seed " + SEED);
      }
      for (CompletableFuture<Sequenced> f : fs) leafHashes.add(f.get().leafHash());
      if (rnd.nextInt(8) == 0) {
        seq.close();
        storage.close();
        storage = LogStorage.open(dir);
        seq =
            new GroupCommitSequencer(storage, "test/log", List.of(key), 16384, 4096, (n, t) -> {});
        assertEquals(leafHashes.size(), seq.head().size(), "size after restart");
        restarts++;
      }
    }
    NaiveTree naive = new NaiveTree(leafHashes);
    assertArrayEquals(naive.root(total), seq.head().checkpoint().rootHash(), "seed " + SEED);

    LogReader reader = new LogReader(storage);
    for (int k = 0; k < 60; k++) {
      int size = 1 + rnd.nextInt(total);
      int index = rnd.nextInt(size);
      assertEquals(naive.path(index, size).size(), reader.inclusion(index, size).size());
      List<byte[]> want = naive.path(index, size);
      List<byte[]> got = reader.inclusion(index, size);
      for (int i = 0; i < want.size(); i++)
        assertArrayEquals(want.get(i), got.get(i), "seed " + SEED);
      int from = 1 + rnd.nextInt(size);
      List<byte[]> cw = from == size ? List.of() : naive.proof(from, size);
      List<byte[]> cg = reader.consistency(from, size);
      assertEquals(cw.size(), cg.size());
      for (int i = 0; i < cw.size(); i++) assertArrayEquals(cw.get(i), cg.get(i), "seed " + SEED);
      assertArrayEquals(naive.root(size), reader.root(size));
    }

    // Every tile holds exactly the naive nodes of its level, at the width the tree size implies.
    int tilesChecked = 0;
    for (int level = 0; level < 3; level++) {
      for (long t = 0; ; t++) {
        int width = Tiles.width(level, t, total);
        if (width == 0) break;
        byte[] tile = storage.tile(level, t).orElseThrow();
        assertEquals(width * Hashes.SIZE, tile.length, "tile " + level + "/" + t);
        for (int i = 0; i < width; i += 37) {
          long node = t * Tiles.WIDTH + i;
          int span = 1 << (8 * level);
          byte[] want = naive.mth((int) (node * span), (int) ((node + 1) * span));
          assertArrayEquals(
              want, Arrays.copyOfRange(tile, i * 32, i * 32 + 32), "tile " + level + "/" + t);
        }
        tilesChecked++;
      }
    }
    assertTrue(tilesChecked > 257, "tiles checked: " + tilesChecked);
    // And every mid tile (stratum 2t + 1) the naive nodes at level 8t + 4.
    int midChecked = 0;
    for (int level = 0; level < 2; level++) {
      int treeLevel = 8 * level + 4;
      long nodes = (long) total >>> treeLevel;
      for (long t = 0; t * Tiles.WIDTH < nodes; t++) {
        int width = (int) Math.min(Tiles.WIDTH, nodes - t * Tiles.WIDTH);
        byte[] mid = storage.stratumTile(2 * level + 1, t).orElseThrow();
        assertEquals(width * Hashes.SIZE, mid.length, "mid tile " + level + "/" + t);
        for (int i = 0; i < width; i += 29) {
          long node = t * Tiles.WIDTH + i;
          long span = 1L << treeLevel;
          byte[] want = naive.mth((int) (node * span), (int) ((node + 1) * span));
          assertArrayEquals(
              want, Arrays.copyOfRange(mid, i * 32, i * 32 + 32), "mid tile " + level + "/" + t);
        }
        midChecked++;
      }
    }
    assertTrue(midChecked > 16, "mid tiles checked: " + midChecked);
    assertTrue(storage.tile(2, 0).isPresent(), "a level-2 tile exists past 65,536 leaves");
    seq.close();
    storage.close();
    System.out.println(
        "StoredTreeTest: seed " + SEED + ", " + total + " leaves, " + restarts + " restarts");
  }
}
