package dev.custody.merkle;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The right edge of a tree of {@code size} leaves: one perfect-subtree hash per set bit of size,
 * largest first. Appending costs O(1) amortised hashes and never reads the tree, and the root
 * follows from the edge alone. Immutable: {@link #append} returns the next range.
 */
public final class CompactRange {
  /** Told of every perfect node that an append completes, the appended leaf included. */
  @FunctionalInterface
  public interface NodeVisitor {
    void visit(int level, long index, byte[] hash);
  }

  private static final CompactRange EMPTY = new CompactRange(0, List.of());

  private final long size;
  private final List<byte[]> hashes;

  private CompactRange(long size, List<byte[]> hashes) {
    this.size = size;
    this.hashes = hashes;
  }

  public static CompactRange empty() {
    return EMPTY;
  }

  public long size() {
    return size;
  }

  public CompactRange append(byte[] leafHash, NodeVisitor visitor) {
    if (!Hashes.isHash(leafHash)) throw new IllegalArgumentException("leaf hash must be 32 bytes");
    List<byte[]> next = new ArrayList<>(hashes.size() + 1);
    next.addAll(hashes);
    byte[] h = leafHash;
    long index = size;
    int level = 0;
    visitor.visit(0, index, h);
    // Each trailing one bit of the old size is a left sibling that the new node completes.
    for (long s = size; (s & 1) == 1; s >>>= 1) {
      h = Hashes.nodeHash(next.remove(next.size() - 1), h);
      level++;
      index >>>= 1;
      visitor.visit(level, index, h);
    }
    next.add(h);
    return new CompactRange(size + 1, List.copyOf(next));
  }

  /** MTH of the tree this range is the edge of. */
  public byte[] root() {
    if (hashes.isEmpty()) return Hashes.emptyRoot();
    byte[] r = hashes.get(hashes.size() - 1);
    for (int i = hashes.size() - 2; i >= 0; i--) r = Hashes.nodeHash(hashes.get(i), r);
    return r;
  }

  /** size (8 bytes, big-endian) followed by the edge hashes, largest subtree first. */
  public byte[] encode() {
    ByteBuffer b = ByteBuffer.allocate(8 + Hashes.SIZE * hashes.size());
    b.putLong(size);
    hashes.forEach(b::put);
    return b.array();
  }

  public static CompactRange decode(byte[] encoded) {
    if (encoded.length < 8 || (encoded.length - 8) % Hashes.SIZE != 0) {
      throw new IllegalArgumentException(
          "compact range of " + encoded.length + " bytes is malformed");
    }
    ByteBuffer b = ByteBuffer.wrap(encoded);
    long size = b.getLong();
    int n = (encoded.length - 8) / Hashes.SIZE;
    if (size < 0 || Long.bitCount(size) != n) {
      throw new IllegalArgumentException(
          "compact range for size " + size + " cannot hold " + n + " hashes");
    }
    List<byte[]> hashes = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      byte[] h = new byte[Hashes.SIZE];
      b.get(h);
      hashes.add(h);
    }
    return new CompactRange(size, List.copyOf(hashes));
  }
}
