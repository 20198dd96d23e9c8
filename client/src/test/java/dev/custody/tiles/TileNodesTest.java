package dev.custody.tiles;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.merkle.CompactRange;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofBuilder;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Proofs from tiles and from slices (every fourth level, 16 nodes to a run) equal proofs from every
 * node of the tree, at random sizes and positions, and slices are read at most once per stratum a
 * proof crosses.
 */
class TileNodesTest {
  private static final long SEED = Long.getLong("custody.seed", System.nanoTime());
  private static final int LEAVES = 70_000; // past 65,536: a second tile level fills

  private final Map<Long, byte[]> nodes = new HashMap<>();
  private final Map<Integer, Long> bytesRead = new HashMap<>(); // by run width

  private static long key(int level, long index) {
    return ((long) level << 56) | index;
  }

  /**
   * A reader of runs of {@code runWidth} nodes at tree level stride × k, from the full node map,
   * refusing widths the size lacks.
   */
  private TileNodes.RunReader runs(int stride, int runWidth, long treeSize) {
    return (k, n, width) -> {
      int level = stride * k;
      long have = Math.min(runWidth, (treeSize >>> level) - n * runWidth);
      if (width > have || width <= 0)
        throw new IllegalStateException("width " + width + " > " + have);
      ByteBuffer b = ByteBuffer.allocate(width * Hashes.SIZE);
      for (int i = 0; i < width; i++) b.put(nodes.get(key(level, n * runWidth + i)));
      bytesRead.merge(runWidth, (long) width * Hashes.SIZE, Long::sum);
      return b.array();
    };
  }

  @Test
  void proofsFromTilesAndFromSlicesEqualProofsFromEveryNode() {
    Random rnd = new Random(SEED);
    CompactRange r = CompactRange.empty();
    for (int i = 0; i < LEAVES; i++) {
      byte[] leaf = Hashes.leafHash(ByteBuffer.allocate(8).putLong(i).array());
      nodes.put(key(0, i), leaf);
      r = r.append(leaf, (level, index, hash) -> nodes.put(key(level, index), hash));
    }
    ProofBuilder all = new ProofBuilder((level, index) -> nodes.get(key(level, index)));
    long readsPlain = 0;
    long readsSliced = 0;
    for (int k = 0; k < 300; k++) {
      long size = 1 + rnd.nextInt(LEAVES);
      long index = rnd.nextLong(size);
      TileNodes plain = new TileNodes(runs(8, 256, size)::run, size, new NodeCache(4));
      TileNodes mid = TileNodes.fromSlices(runs(4, 16, size), size, new NodeCache(4));
      List<byte[]> want = all.inclusion(index, size);
      assertEqualProofs(
          want, new ProofBuilder(plain).inclusion(index, size), "inclusion " + index + " " + size);
      assertEqualProofs(
          want, new ProofBuilder(mid).inclusion(index, size), "inclusion " + index + " " + size);
      long from = 1 + rnd.nextLong(size);
      List<byte[]> cw = all.consistency(from, size);
      assertEqualProofs(
          cw, new ProofBuilder(plain).consistency(from, size), "consistency " + from + " " + size);
      assertEqualProofs(
          cw, new ProofBuilder(mid).consistency(from, size), "consistency " + from + " " + size);
      assertArrayEquals(
          all.root(size), new ProofBuilder(mid).root(size), "root " + size + " seed " + SEED);
      readsPlain += plain.runsRead();
      readsSliced += mid.runsRead();
      TileNodes alone = TileNodes.fromSlices(runs(4, 16, size), size, new NodeCache(4));
      new ProofBuilder(alone).inclusion(index, size);
      // An inclusion proof reads at most one slice per stratum (and two at the tree's right edge).
      assertTrue(
          alone.runsRead() <= 2 * (64 - Long.numberOfLeadingZeros(size) + 3) / 4 + 1,
          alone.runsRead() + " slices for " + index + " of " + size + " seed " + SEED);
    }
    // Slices add reads where they replace hashing, but each is a sixteenth of a tile: a third of
    // the bytes or less.
    assertTrue(readsSliced > readsPlain, readsSliced + " vs " + readsPlain);
    assertTrue(3 * bytesRead.get(16) < bytesRead.get(256), bytesRead.toString());
  }

  @Test
  void aNodeBeyondTheTreeIsRefused() {
    TileNodes t = TileNodes.fromSlices((l, n, w) -> new byte[w * 32], 20, new NodeCache(4));
    assertThrows(
        IllegalArgumentException.class, () -> t.hash(4, 1)); // level 4 holds one node at size 20
    assertEquals(32, t.hash(4, 0).length);
  }

  private static void assertEqualProofs(List<byte[]> want, List<byte[]> got, String what) {
    assertEquals(want.size(), got.size(), what + " seed " + SEED);
    for (int i = 0; i < want.size(); i++)
      assertArrayEquals(want.get(i), got.get(i), what + " seed " + SEED);
  }
}
