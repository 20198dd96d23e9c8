package dev.custody.tiles;

import dev.custody.merkle.Hashes;
import dev.custody.merkle.NodeSource;
import java.util.HashMap;
import java.util.Map;

/**
 * Merkle nodes of a tree of one size, from its tiles. Tiles hold only every eighth level, so a
 * node in between is hashed from its two children, recursively, down to a tile; each tile is read
 * at most once per instance, and every node computed can go to a shared {@link NodeCache}.
 */
public final class TileNodes implements NodeSource {
  private final TileReader reader;
  private final long treeSize;
  private final NodeCache cache;
  private final Map<Long, byte[]> read = new HashMap<>();

  public TileNodes(TileReader reader, long treeSize, NodeCache cache) {
    this.reader = reader;
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
      h = fromTile(level, index);
    } else {
      h = Hashes.nodeHash(hash(level - 1, 2 * index), hash(level - 1, 2 * index + 1));
    }
    cache.put(level, index, h);
    return h;
  }

  private byte[] fromTile(int level, long index) {
    Tiles.NodeInTile n = Tiles.locate(level, index);
    int width = Tiles.width(n.tileLevel(), n.tileIndex(), treeSize);
    if (n.offset() >= width) {
      throw new IllegalArgumentException("node " + level + "/" + index + " is not in a tree of size " + treeSize);
    }
    // Tile indices below 2^56 at each of 8 levels fit one long key.
    long key = ((long) n.tileLevel() << 56) | n.tileIndex();
    byte[] tile = read.computeIfAbsent(key, k -> reader.tile(n.tileLevel(), n.tileIndex(), width));
    byte[] h = new byte[Hashes.SIZE];
    System.arraycopy(tile, n.offset() * Hashes.SIZE, h, 0, Hashes.SIZE);
    return h;
  }
}
