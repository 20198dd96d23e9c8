package dev.custody.tiles;

/**
 * C2SP tlog-tiles geometry: a tile at tile level L holds up to 256 consecutive Merkle nodes of tree
 * level 8L; a tile at level 0 holds leaf hashes. Nodes at levels between multiples of eight are not
 * stored: they are hashed from the tile below them, as in Go's sumdb/tlog.
 */
public final class Tiles {
  public static final int HEIGHT = 8;
  public static final int WIDTH = 1 << HEIGHT;

  private Tiles() {}

  /** Where a stored Merkle node is: its tile and its position in that tile. */
  /** How many hashes the tile (level, index) holds in a tree of {@code treeSize} leaves. */
  public static int width(int tileLevel, long tileIndex, long treeSize) {
    if (HEIGHT * tileLevel >= Long.SIZE) return 0; // Java shifts are mod 64
    long nodes = treeSize >>> (HEIGHT * tileLevel); // complete nodes at tree level 8L
    long w = nodes - tileIndex * WIDTH;
    return (int) Math.max(0, Math.min(WIDTH, w));
  }
}
