package dev.custody.server.sequencer;

import dev.custody.merkle.CompactRange;
import dev.custody.merkle.Hashes;
import dev.custody.server.storage.AppendBatch;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import dev.custody.tiles.Tiles;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Integration: the right edge of the tree, as a compact range (for the root) and the rightmost
 * tile of each tile level (for storage). Appending a batch touches O(batch + log n) hashes and
 * never reads the tree. Immutable: {@link #append} returns the next edge and leaves this one
 * intact, so a failed commit leaves nothing to undo.
 */
final class TreeEdge {
  private final CompactRange range;
  private final List<byte[]> partial; // index = tile level; hashes of the rightmost, unfilled tile

  private TreeEdge(CompactRange range, List<byte[]> partial) {
    this.range = range;
    this.partial = partial;
  }

  static TreeEdge empty() {
    return new TreeEdge(CompactRange.empty(), List.of());
  }

  /** Rebuilds the edge from the stored compact range and at most one tile read per tile level. */
  static TreeEdge load(CompactRange range, LogStorage storage) {
    long size = range.size();
    List<byte[]> partial = new ArrayList<>();
    for (int level = 0; Tiles.HEIGHT * level < Long.SIZE && (size >>> (Tiles.HEIGHT * level)) > 0; level++) {
      long nodes = size >>> (Tiles.HEIGHT * level);
      int width = (int) (nodes % Tiles.WIDTH);
      byte[] hashes = new byte[0];
      if (width > 0) {
        long tileIndex = nodes / Tiles.WIDTH;
        int lvl = level;
        byte[] stored = storage.tile(level, tileIndex)
            .orElseThrow(() -> new StorageException("tile " + lvl + "/" + tileIndex + " of the tree's edge is missing"));
        if (stored.length < width * Hashes.SIZE) {
          throw new StorageException("tile " + level + "/" + tileIndex + " holds fewer hashes than the checkpoint needs");
        }
        hashes = Arrays.copyOf(stored, width * Hashes.SIZE);
      }
      partial.add(hashes);
    }
    return new TreeEdge(range, List.copyOf(partial));
  }

  long size() {
    return range.size();
  }

  byte[] root() {
    return range.root();
  }

  CompactRange range() {
    return range;
  }

  /** Appends leaf hashes, recording in {@code out} every tile they change, full or partial. */
  TreeEdge append(List<byte[]> leafHashes, AppendBatch out) {
    List<TileBuffer> tiles = new ArrayList<>();
    for (byte[] p : partial) tiles.add(new TileBuffer(p));
    CompactRange r = range;
    for (byte[] h : leafHashes) {
      r = r.append(h, (level, index, hash) -> {
        if (level % Tiles.HEIGHT != 0) return;
        int tl = level / Tiles.HEIGHT;
        while (tiles.size() <= tl) tiles.add(new TileBuffer(new byte[0]));
        TileBuffer t = tiles.get(tl);
        t.add(hash);
        if (t.width == Tiles.WIDTH) {
          out.putTile(tl, index / Tiles.WIDTH, t.bytes());
          t.clear();
        }
      });
    }
    long size = r.size();
    List<byte[]> next = new ArrayList<>();
    for (int tl = 0; tl < tiles.size(); tl++) {
      TileBuffer t = tiles.get(tl);
      if (t.dirty && t.width > 0) {
        out.putTile(tl, (size >>> (Tiles.HEIGHT * tl)) / Tiles.WIDTH, t.bytes());
      }
      next.add(t.bytes());
    }
    return new TreeEdge(r, List.copyOf(next));
  }

  private static final class TileBuffer {
    final byte[] buf = new byte[Tiles.WIDTH * Hashes.SIZE];
    int width;
    boolean dirty;

    TileBuffer(byte[] hashes) {
      System.arraycopy(hashes, 0, buf, 0, hashes.length);
      width = hashes.length / Hashes.SIZE;
    }

    void add(byte[] hash) {
      System.arraycopy(hash, 0, buf, width * Hashes.SIZE, Hashes.SIZE);
      width++;
      dirty = true;
    }

    void clear() {
      width = 0;
    }

    byte[] bytes() {
      return Arrays.copyOf(buf, width * Hashes.SIZE);
    }
  }
}
