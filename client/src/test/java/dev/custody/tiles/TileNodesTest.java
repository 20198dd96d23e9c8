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
 * Proofs from tiles alone and from tiles plus mid tiles equal proofs from every node of the tree,
 * at random sizes and positions, and the mid tiles cut the tiles read to no more.
 */
class TileNodesTest {
  private static final long SEED = Long.getLong("custody.seed", System.nanoTime());
  private static final int LEAVES = 70_000; // past 65,536: a second tile level fills

  private final Map<Long, byte[]> nodes = new HashMap<>();

  private static long key(int level, long index) {
    return ((long) level << 56) | index;
  }

  /** A reader of 256-node records at tree level 8t + offset, from the full node map, refusing widths the size lacks. */
  private TileReader strata(int offset, long treeSize) {
    return (t, n, width) -> {
      int level = 8 * t + offset;
      long have = Math.min(Tiles.WIDTH, (treeSize >>> level) - n * Tiles.WIDTH);
      if (width > have || width <= 0) throw new IllegalStateException("width " + width + " > " + have);
      ByteBuffer b = ByteBuffer.allocate(width * Hashes.SIZE);
      for (int i = 0; i < width; i++) b.put(nodes.get(key(level, n * Tiles.WIDTH + i)));
      return b.array();
    };
  }

  @Test
  void proofsWithAndWithoutMidTilesEqualProofsFromEveryNode() {
    Random rnd = new Random(SEED);
    CompactRange r = CompactRange.empty();
    for (int i = 0; i < LEAVES; i++) {
      byte[] leaf = Hashes.leafHash(ByteBuffer.allocate(8).putLong(i).array());
      nodes.put(key(0, i), leaf);
      r = r.append(leaf, (level, index, hash) -> nodes.put(key(level, index), hash));
    }
    ProofBuilder all = new ProofBuilder((level, index) -> nodes.get(key(level, index)));
    long readsPlain = 0;
    long readsMid = 0;
    for (int k = 0; k < 300; k++) {
      long size = 1 + rnd.nextInt(LEAVES);
      long index = rnd.nextLong(size);
      TileNodes plain = new TileNodes(strata(0, size), size, new NodeCache(4));
      TileNodes mid = new TileNodes(strata(0, size), strata(4, size), size, new NodeCache(4));
      List<byte[]> want = all.inclusion(index, size);
      assertEqualProofs(want, new ProofBuilder(plain).inclusion(index, size), "inclusion " + index + " " + size);
      assertEqualProofs(want, new ProofBuilder(mid).inclusion(index, size), "inclusion " + index + " " + size);
      long from = 1 + rnd.nextLong(size);
      List<byte[]> cw = all.consistency(from, size);
      assertEqualProofs(cw, new ProofBuilder(plain).consistency(from, size), "consistency " + from + " " + size);
      assertEqualProofs(cw, new ProofBuilder(mid).consistency(from, size), "consistency " + from + " " + size);
      assertArrayEquals(all.root(size), new ProofBuilder(mid).root(size), "root " + size + " seed " + SEED);
      readsPlain += plain.tilesRead();
      readsMid += mid.tilesRead();
    }
    // Mid tiles add a read where they replace hashing; they must never be needed more than once per stratum.
    assertTrue(readsMid <= 2 * readsPlain, readsMid + " vs " + readsPlain);
  }

  @Test
  void aNodeBeyondTheTreeIsRefused() {
    TileNodes t = new TileNodes((l, n, w) -> new byte[w * 32], (l, n, w) -> new byte[w * 32], 20, new NodeCache(4));
    assertThrows(IllegalArgumentException.class, () -> t.hash(4, 1)); // level 4 holds one node at size 20
    assertEquals(32, t.hash(4, 0).length);
  }

  private static void assertEqualProofs(List<byte[]> want, List<byte[]> got, String what) {
    assertEquals(want.size(), got.size(), what + " seed " + SEED);
    for (int i = 0; i < want.size(); i++) assertArrayEquals(want.get(i), got.get(i), what + " seed " + SEED);
  }
}
