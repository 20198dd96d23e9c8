package dev.custody.server.sequencer;

import dev.custody.merkle.CompactRange;
import dev.custody.merkle.Hashes;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.NodeSlice;
import dev.custody.server.storage.StorageException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Integration: the right edge of the tree, as a compact range (for the root) and the rightmost
 * slice of each stratum (for storage: every fourth tree level, 16 nodes to a slice; see {@link
 * LogStorage#slice}). Appending a batch touches O(batch + log n) hashes, names only the slices it
 * changed (the caller stores them), and never reads the tree. Immutable: {@link #append} returns
 * the next edge and leaves this one intact, so a failed commit leaves nothing to undo.
 */
public final class TreeEdge {
  private static final int STRATUM = LogStorage.STRATUM_LEVELS;
  private static final int SLICE = LogStorage.SLICE_NODES;

  private final CompactRange range;
  private final List<byte[]> partial; // index = stratum; hashes of its rightmost, unfilled slice

  private TreeEdge(CompactRange range, List<byte[]> partial) {
    this.range = range;
    this.partial = partial;
  }

  public static TreeEdge empty() {
    return new TreeEdge(CompactRange.empty(), List.of());
  }

  /** Rebuilds the edge from the stored compact range and at most one slice read per stratum. */
  public static TreeEdge load(CompactRange range, LogStorage storage) {
    long size = range.size();
    List<byte[]> partial = new ArrayList<>();
    for (int s = 0; STRATUM * s < Long.SIZE && (size >>> (STRATUM * s)) > 0; s++) {
      long nodes = size >>> (STRATUM * s);
      int width = (int) (nodes % SLICE);
      byte[] hashes = new byte[0];
      if (width > 0) {
        long index = nodes / SLICE;
        String what = "slice " + s + "/" + index;
        byte[] stored =
            storage
                .slice(s, index)
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

  /**
   * The edge after an append, and every slice the append changed, full or partial, for storage to
   * keep.
   */
  public record Appended(TreeEdge edge, List<NodeSlice> changed) {}

  /** Appends leaf hashes; this edge is left as it was. */
  Appended append(List<byte[]> leafHashes) {
    List<NodeSlice> out = new ArrayList<>();
    List<SliceBuffer> slices = new ArrayList<>();
    for (byte[] p : partial) slices.add(new SliceBuffer(p));
    CompactRange r = range;
    for (byte[] h : leafHashes) {
      r =
          r.append(
              h,
              (level, index, hash) -> {
                if (level % STRATUM != 0) return;
                int s = level / STRATUM;
                while (slices.size() <= s) slices.add(new SliceBuffer(new byte[0]));
                SliceBuffer t = slices.get(s);
                t.add(hash);
                if (t.width == SLICE) {
                  out.add(new NodeSlice(s, index / SLICE, t.bytes()));
                  t.clear();
                }
              });
    }
    long size = r.size();
    List<byte[]> next = new ArrayList<>();
    for (int s = 0; s < slices.size(); s++) {
      SliceBuffer t = slices.get(s);
      byte[] bytes = t.bytes();
      if (t.dirty && t.width > 0)
        out.add(new NodeSlice(s, (size >>> (STRATUM * s)) / SLICE, bytes));
      next.add(bytes);
    }
    return new Appended(new TreeEdge(r, List.copyOf(next)), List.copyOf(out));
  }

  private static final class SliceBuffer {
    final byte[] buf = new byte[SLICE * Hashes.SIZE];
    int width;
    boolean dirty;

    SliceBuffer(byte[] hashes) {
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
