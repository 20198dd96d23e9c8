package dev.custody.tiles;

import java.util.Optional;

/**
 * The C2SP tlog-tiles resource paths (below the log's prefix): {@code tile/<L>/<N>[.p/<W>]} and
 * {@code tile/entries/<N>[.p/<W>]}, with N in zero-padded 3-digit groups, all but the last prefixed
 * by {@code x}. One formatter and one strict parser that accepts only canonical paths.
 */
public record TilePath(boolean entries, int level, long index, int width) {
  public static final int MAX_LEVEL = 63;

  public TilePath {
    if (entries && level != 0) throw new IllegalArgumentException("entry bundles have no level");
    if (level < 0 || level > MAX_LEVEL)
      throw new IllegalArgumentException("tile level must be 0..63");
    if (index < 0) throw new IllegalArgumentException("tile index must not be negative");
    if (width < 1 || width > Tiles.WIDTH)
      throw new IllegalArgumentException("tile width must be 1..256");
  }

  public static TilePath tile(int level, long index, int width) {
    return new TilePath(false, level, index, width);
  }

  public static TilePath entries(long index, int width) {
    return new TilePath(true, 0, index, width);
  }

  public boolean partial() {
    return width < Tiles.WIDTH;
  }

  /** The path below the prefix, without a leading slash. */
  public String format() {
    StringBuilder b =
        new StringBuilder("tile/")
            .append(entries ? "entries" : Integer.toString(level))
            .append('/');
    b.append(formatIndex(index));
    if (partial()) b.append(".p/").append(width);
    return b.toString();
  }

  static String formatIndex(long n) {
    String s = Long.toString(n);
    int pad = (3 - s.length() % 3) % 3;
    s = "0".repeat(pad) + s;
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i += 3) {
      if (i > 0) b.append('/');
      if (i + 3 < s.length()) b.append('x');
      b.append(s, i, i + 3);
    }
    return b.toString();
  }

  /** Parses a path below the prefix (no leading slash); empty unless it is exactly canonical. */
  public static Optional<TilePath> parse(String path) {
    if (!path.startsWith("tile/")) return Optional.empty();
    String[] parts = path.substring(5).split("/", -1);
    if (parts.length < 2) return Optional.empty();
    boolean entries = parts[0].equals("entries");
    int level = 0;
    if (!entries) {
      if (!parts[0].matches("0|[1-9][0-9]?")) return Optional.empty();
      level = Integer.parseInt(parts[0]);
      if (level > MAX_LEVEL) return Optional.empty();
    }
    int end = parts.length;
    int width = Tiles.WIDTH;
    // A partial tile: ".../<last>.p/<W>"
    if (end >= 3 && parts[end - 2].endsWith(".p")) {
      String w = parts[end - 1];
      if (!w.matches("[1-9][0-9]{0,2}")) return Optional.empty();
      width = Integer.parseInt(w);
      if (width >= Tiles.WIDTH) return Optional.empty();
      parts[end - 2] = parts[end - 2].substring(0, parts[end - 2].length() - 2);
      end--;
    }
    long index = 0;
    int groups = end - 1;
    if (groups < 1 || groups > 7) return Optional.empty(); // 7 groups hold every int63 index
    for (int i = 1; i < end; i++) {
      String g = parts[i];
      boolean last = i == end - 1;
      if (!last) {
        if (!g.startsWith("x")) return Optional.empty();
        g = g.substring(1);
      }
      if (!g.matches("[0-9]{3}")) return Optional.empty();
      if (index > (Long.MAX_VALUE - 999) / 1000) return Optional.empty();
      index = index * 1000 + Integer.parseInt(g);
    }
    TilePath p = new TilePath(entries, level, index, width);
    // Canonical only: no redundant leading x000 groups.
    return p.format().equals(path) ? Optional.of(p) : Optional.empty();
  }
}
