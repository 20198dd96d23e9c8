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
 * record of each stratum (for storage: every fourth tree level, 256 nodes to a record; see
 * {@link LogStorage#stratumTile}). Appending a batch touches O(batch + log n) hashes and never
 * reads the tree. Immutable: {@link #append} returns the next edge and leaves this one intact,
 * so a failed commit leaves nothing to undo.
 */
public final class TreeEdge {
  /** Tree levels per stratum: half a tile's height, so that every other stratum is a tlog-tiles tile level. */
  private static final int STRATUM = Tiles.HEIGHT / 2;

  private final CompactRange range;
  private final List<byte[]> partial; // index = stratum; hashes of its rightmost, unfilled record

  private TreeEdge(CompactRange range, List<byte[]> partial) {
    this.range = range;
    this.partial = partial;
  }

  public static TreeEdge empty() {
    return new TreeEdge(CompactRange.empty(), List.of());
  }

  /** Rebuilds the edge from the stored compact range and at most one record read per stratum. */
  public static TreeEdge load(CompactRange range, LogStorage storage) {
    long size = range.size();
    List<byte[]> partial = new ArrayList<>();
    for (int s = 0; STRATUM * s < Long.SIZE && (size >>> (STRATUM * s)) > 0; s++) {
      long nodes = size >>> (STRATUM * s);
      int width = (int) (nodes % Tiles.WIDTH);
      byte[] hashes = new byte[0];
      if (width > 0) {
        long index = nodes / Tiles.WIDTH;
        String what = (s % 2 == 0 ? "tile " : "mid tile ") + s / 2 + "/" + index;
        byte[] stored = storage.stratumTile(s, index)
            .orElseThrow(() -> new StorageException(what + " of the tree's edge is missing"));
        if (stored.length < width * Hashes.SIZE) {
          throw new StorageException(what + " holds fewer hashes than the checkpoint needs");
        }
        hashes = Arrays.copyOf(stored, width * Hashes.SIZE);
      }
      partial.add(hashes);
    }
    return new TreeEdge(range, List.copyOf(partial));
  }

  public long size() {
    return range.size();
  }

  public byte[] root() {
    return range.root();
  }

  public CompactRange range() {
    return range;
  }

  /** Appends leaf hashes, recording in {@code out} every stratum record they change, full or partial. */
  TreeEdge append(List<byte[]> leafHashes, AppendBatch out) {
    List<TileBuffer> tiles = new ArrayList<>();
    for (byte[] p : partial) tiles.add(new TileBuffer(p));
    CompactRange r = range;
    for (byte[] h : leafHashes) {
      r = r.append(h, (level, index, hash) -> {
        if (level % STRATUM != 0) return;
        int s = level / STRATUM;
        while (tiles.size() <= s) tiles.add(new TileBuffer(new byte[0]));
        TileBuffer t = tiles.get(s);
        t.add(hash);
        if (t.width == Tiles.WIDTH) {
          out.putStratumTile(s, index / Tiles.WIDTH, t.bytes());
          t.clear();
        }
      });
    }
    long size = r.size();
    List<byte[]> next = new ArrayList<>();
    for (int s = 0; s < tiles.size(); s++) {
      TileBuffer t = tiles.get(s);
      if (t.dirty && t.width > 0) {
        out.putStratumTile(s, (size >>> (STRATUM * s)) / Tiles.WIDTH, t.bytes());
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
