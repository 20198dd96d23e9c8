package dev.custody.tiles;

import dev.custody.merkle.Hashes;
import dev.custody.merkle.NodeSource;
import java.util.HashMap;
import java.util.Map;

/**
 * Merkle nodes of a tree of one size, from its tiles. Tiles hold only every eighth level, so a
 * node in between is hashed from its two children, recursively, down to a tile; each tile is read
 * at most once per instance, and every node computed can go to a shared {@link NodeCache}.
 *
 * <p>A store may also keep mid tiles: the nodes at levels 8t + 4, 256 to a tile, like a tile
 * level of its own (Custody's server does; tlog-tiles has no such thing). With them, a node is
 * hashed from at most three levels below, instead of seven.
 */
public final class TileNodes implements NodeSource {
  private final TileReader reader;
  private final TileReader midTiles;
  private final long treeSize;
  private final NodeCache cache;
  private final Map<Long, byte[]> read = new HashMap<>();

  public TileNodes(TileReader reader, long treeSize, NodeCache cache) {
    this(reader, null, treeSize, cache);
  }

  /** @param midTiles reads mid tile (t, n): the nodes at level 8t + 4; null when there are none */
  public TileNodes(TileReader reader, TileReader midTiles, long treeSize, NodeCache cache) {
    this.reader = reader;
    this.midTiles = midTiles;
    this.treeSize = treeSize;
    this.cache = cache;
  }

  /** Distinct tiles read so far: what this instance cost in storage or network reads. */
  public int tilesRead() {
    return read.size();
  }

  @Override public byte[] hash(int level, long index) {
    byte[] h = cache.get(level, index);
    if (h != null) return h;
    if (level % Tiles.HEIGHT == 0) {
      h = fromTile(reader, level, index);
    } else if (midTiles != null && level % Tiles.HEIGHT == Tiles.HEIGHT / 2) {
      h = fromTile(midTiles, level, index);
    } else {
      h = Hashes.nodeHash(hash(level - 1, 2 * index), hash(level - 1, 2 * index + 1));
    }
    cache.put(level, index, h);
    return h;
  }

  /** The node from the (mid) tile holding it; {@code level} is 8t for tile level t, 8t + 4 for mid tile t. */
  private byte[] fromTile(TileReader from, int level, long index) {
    int tileLevel = level / Tiles.HEIGHT;
    long tileIndex = index >>> Tiles.HEIGHT;
    int offset = (int) (index & (Tiles.WIDTH - 1));
    long width = Math.min(Tiles.WIDTH, (treeSize >>> level) - tileIndex * Tiles.WIDTH);
    if (offset >= width) {
      throw new IllegalArgumentException("node " + level + "/" + index + " is not in a tree of size " + treeSize);
    }
    // Tile indices below 2^56 at each of the 64 levels fit one long key.
    long key = ((long) level << 56) | tileIndex;
    byte[] tile = read.computeIfAbsent(key, k -> from.tile(tileLevel, tileIndex, (int) width));
    byte[] h = new byte[Hashes.SIZE];
    System.arraycopy(tile, offset * Hashes.SIZE, h, 0, Hashes.SIZE);
    return h;
  }
}
