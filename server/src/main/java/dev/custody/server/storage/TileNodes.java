package dev.custody.server.storage;

import dev.custody.merkle.Hashes;
import dev.custody.merkle.NodeSource;
import dev.custody.tiles.Tiles;
import java.util.HashMap;
import java.util.Map;

/**
 * Merkle nodes for one request, from stored tiles. Tiles hold only every eighth level, so a node
 * in between is hashed from its two children, recursively, down to a tile; each tile is read at
 * most once per request, and every node computed goes into the shared {@link NodeCache}, so the
 * proofs of one batch (and the top of the tree for all proofs) are hashed once, not per request.
 */
public final class TileNodes implements NodeSource {
  private final LogStorage storage;
  private final NodeCache cache;
  private final Map<Long, byte[]> read = new HashMap<>();

  public TileNodes(LogStorage storage, NodeCache cache) {
    this.storage = storage;
    this.cache = cache;
  }

  /** Distinct tiles read so far: the storage reads this request cost. */
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
    // Tile indices below 2^56 at each of 8 levels fit one long key.
    long key = ((long) n.tileLevel() << 56) | n.tileIndex();
    byte[] tile = read.computeIfAbsent(key, k -> storage.tile(n.tileLevel(), n.tileIndex())
        .orElseThrow(() -> new StorageException("tile " + n.tileLevel() + "/" + n.tileIndex() + " is missing")));
    if (tile.length < n.widthNeeded() * Hashes.SIZE) {
      throw new StorageException("tile " + n.tileLevel() + "/" + n.tileIndex() + " is too short for node " + level + "/" + index);
    }
    byte[] h = new byte[Hashes.SIZE];
    System.arraycopy(tile, n.offset() * Hashes.SIZE, h, 0, Hashes.SIZE);
    return h;
  }
}
