package dev.custody.tiles;

import dev.custody.merkle.Hashes;
import dev.custody.merkle.NodeSource;
import java.util.HashMap;
import java.util.Map;

/**
 * Merkle nodes of a tree of one size, from stored runs of nodes. Tiles hold only every eighth
 * level, 256 nodes to a run, so a node in between is hashed from its two children, recursively,
 * down to a tile; each run is read at most once per instance, and the nodes of the tree's top go to
 * a shared {@link NodeCache}.
 *
 * <p>Custody's server stores more finely ({@link #fromSlices}): every fourth level, 16 nodes to a
 * run. A node is then hashed from at most three levels below, and all the nodes a proof needs from
 * one stored level lie in one run of 512 bytes.
 */
public final class TileNodes implements NodeSource {
  /** Where runs of stored nodes come from. */
  @FunctionalInterface
  public interface RunReader {
    /**
     * The first {@code width} hashes (32 bytes each), at least that many, of run {@code n} of
     * stored level {@code k}: the nodes [n × run width, …) at tree level k × level stride.
     *
     * @throws RuntimeException when the run is missing or unreadable
     */
    byte[] run(int k, long n, int width);
  }

  private final RunReader runs;
  private final int levelStride;
  private final int runBits;
  private final long treeSize;
  private final NodeCache cache;
  private final Map<Long, byte[]> read = new HashMap<>();

  /** Nodes from tlog-tiles tiles: every eighth level, 256 nodes to a tile. */
  public TileNodes(TileReader tiles, long treeSize, NodeCache cache) {
    this(tiles::tile, Tiles.HEIGHT, Tiles.HEIGHT, treeSize, cache);
  }

  private TileNodes(RunReader runs, int levelStride, int runBits, long treeSize, NodeCache cache) {
    this.runs = runs;
    this.levelStride = levelStride;
    this.runBits = runBits;
    this.treeSize = treeSize;
    this.cache = cache;
  }

  /** Nodes from slices: every fourth tree level (stratum k is level 4k), 16 nodes to a slice. */
  public static TileNodes fromSlices(RunReader slices, long treeSize, NodeCache cache) {
    return new TileNodes(slices, Tiles.HEIGHT / 2, Tiles.HEIGHT / 2, treeSize, cache);
  }

  /**
   * Distinct runs (tiles or slices) read so far: what this instance cost in storage or network
   * reads.
   */
  public int runsRead() {
    return read.size();
  }

  @Override
  public byte[] hash(int level, long index) {
    boolean cached = cache.worthCaching(level, treeSize);
    byte[] h = cached ? cache.get(level, index) : null;
    if (h != null) return h;
    if (level % levelStride == 0) {
      h = fromRun(level, index);
    } else {
      h = Hashes.nodeHash(hash(level - 1, 2 * index), hash(level - 1, 2 * index + 1));
    }
    if (cached) cache.put(level, index, h);
    return h;
  }

  /** The node from the run holding it; {@code level} is a multiple of the level stride. */
  private byte[] fromRun(int level, long index) {
    long run = index >>> runBits;
    long runWidth = 1L << runBits;
    int offset = (int) (index & (runWidth - 1));
    long width = Math.min(runWidth, (treeSize >>> level) - run * runWidth);
    if (offset >= width) {
      throw new IllegalArgumentException(
          "node " + level + "/" + index + " is not in a tree of size " + treeSize);
    }
    // Run indices below 2^56 at each of the 64 levels fit one long key.
    long key = ((long) level << 56) | run;
    byte[] nodes = read.computeIfAbsent(key, k -> runs.run(level / levelStride, run, (int) width));
    byte[] h = new byte[Hashes.SIZE];
    System.arraycopy(nodes, offset * Hashes.SIZE, h, 0, Hashes.SIZE);
    return h;
  }
}
