package dev.custody.tiles;

/** Where tile hashes come from: a store, a web server, a directory. */
@FunctionalInterface
public interface TileReader {
  /**
   * The first {@code width} hashes (32 bytes each) of tile (level, index), at least that many.
   *
   * @throws RuntimeException when the tile is missing or unreadable
   */
  byte[] tile(int level, long index, int width);
}
