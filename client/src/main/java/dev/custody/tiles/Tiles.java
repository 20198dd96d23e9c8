package dev.custody.tiles;

/**
 * C2SP tlog-tiles geometry: a tile at tile level L holds up to 256 consecutive Merkle nodes of
 * tree level 8L; a tile at level 0 holds leaf hashes. Nodes at levels between multiples of
 * eight are not stored: they are hashed from the tile below them, as in Go's sumdb/tlog.
 */
public final class Tiles {
  public static final int HEIGHT = 8;
  public static final int WIDTH = 1 << HEIGHT;

  private Tiles() {}

  /** Where the Merkle node (level, index) comes from: a run of 2^(level % 8) hashes of one tile. */
  public record NodeInTile(int tileLevel, long tileIndex, int offset, int count) {
    /** Hashes needed in the tile for the node to be there: offset + count. */
    public int widthNeeded() {
      return offset + count;
    }
  }

  public static NodeInTile locate(int level, long index) {
    if (level < 0 || index < 0) throw new IllegalArgumentException("no node at level " + level + " index " + index);
    int tileLevel = level / HEIGHT;
    int sub = level % HEIGHT;
    long first = index << sub; // first node of tree level 8L under this node
    return new NodeInTile(tileLevel, first >>> HEIGHT, (int) (first & (WIDTH - 1)), 1 << sub);
  }

  /** How many hashes the tile (level, index) holds in a tree of {@code treeSize} leaves. */
  public static int width(int tileLevel, long tileIndex, long treeSize) {
    if (HEIGHT * tileLevel >= Long.SIZE) return 0; // Java shifts are mod 64
    long nodes = treeSize >>> (HEIGHT * tileLevel); // complete nodes at tree level 8L
    long w = nodes - tileIndex * WIDTH;
    return (int) Math.max(0, Math.min(WIDTH, w));
  }
}
