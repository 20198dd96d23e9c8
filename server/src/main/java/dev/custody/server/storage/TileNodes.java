package dev.custody.server.storage;

import dev.custody.merkle.Hashes;
import dev.custody.merkle.NodeSource;
import dev.custody.tiles.Tiles;
import java.util.HashMap;
import java.util.Map;

/**
 * Merkle nodes read from stored tiles, for one request: each tile is read at most once, so a
 * proof costs about one read per tile level (three for ten million leaves).
 */
public final class TileNodes implements NodeSource {
  private final LogStorage storage;
  private final Map<Long, byte[]> read = new HashMap<>();

  public TileNodes(LogStorage storage) {
    this.storage = storage;
  }

  @Override public byte[] hash(int level, long index) {
    Tiles.NodeInTile n = Tiles.locate(level, index);
    // Tile indices below 2^56 at each of 8 levels fit one long key.
    long key = ((long) n.tileLevel() << 56) | n.tileIndex();
    byte[] tile = read.computeIfAbsent(key, k -> storage.tile(n.tileLevel(), n.tileIndex())
        .orElseThrow(() -> new StorageException("tile " + n.tileLevel() + "/" + n.tileIndex() + " is missing")));
    if (tile.length < n.widthNeeded() * Hashes.SIZE) {
      throw new StorageException("tile " + n.tileLevel() + "/" + n.tileIndex() + " is too short for node " + level + "/" + index);
    }
    return Tiles.hashRun(tile, n.offset(), n.count());
  }
}
