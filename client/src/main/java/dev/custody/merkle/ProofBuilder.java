package dev.custody.merkle;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds tree heads and proofs by the recursive definitions of RFC 9162 §2.1, reading only
 * perfect-subtree hashes from a {@link NodeSource}: O(log n) reads per proof, no I/O of its own.
 */
public final class ProofBuilder {
  private final NodeSource nodes;

  /** Subtree hashes computed so far, shared by the paths of one {@link #inclusions}; else null. */
  private final Map<Range, byte[]> memo;

  private record Range(long lo, long hi) {}

  public ProofBuilder(NodeSource nodes) {
    this(nodes, null);
  }

  private ProofBuilder(NodeSource nodes, Map<Range, byte[]> memo) {
    this.nodes = nodes;
    this.memo = memo;
  }

  /** MTH(D[0:size]). */
  public byte[] root(long size) {
    if (size < 0) throw new IllegalArgumentException("negative tree size " + size);
    return size == 0 ? Hashes.emptyRoot() : subtree(0, size);
  }

  /** PATH(index, D[0:size]), leaf side first. */
  public List<byte[]> inclusion(long index, long size) {
    if (index < 0 || index >= size) {
      throw new IllegalArgumentException("index " + index + " is not in a tree of size " + size);
    }
    List<byte[]> proof = new ArrayList<>();
    path(index, 0, size, proof);
    return proof;
  }

  /**
   * PATH(index, D[0:size]) for each of {@code indices}, in order, in one pass that computes each
   * subtree hash once: the answers of one group commit, whose paths share all but their lowest
   * hashes. Requires 0 <= index < size for each.
   */
  public List<List<byte[]>> inclusions(long[] indices, long size) {
    ProofBuilder shared = new ProofBuilder(nodes, new HashMap<>());
    List<List<byte[]>> out = new ArrayList<>(indices.length);
    for (long index : indices) out.add(shared.inclusion(index, size));
    return out;
  }

  /** PROOF(size1, D[0:size2]) for 0 < size1 <= size2; empty when the sizes are equal. */
  public List<byte[]> consistency(long size1, long size2) {
    if (size1 <= 0 || size1 > size2) {
      throw new IllegalArgumentException(
          "no consistency proof from size " + size1 + " to " + size2);
    }
    List<byte[]> proof = new ArrayList<>();
    if (size1 < size2) subproof(size1, 0, size2, true, proof);
    return proof;
  }

  private void path(long m, long lo, long hi, List<byte[]> out) {
    if (hi - lo == 1) return;
    long k = TreeMath.splitPoint(hi - lo);
    if (m < lo + k) {
      path(m, lo, lo + k, out);
      out.add(subtree(lo + k, hi));
    } else {
      path(m, lo + k, hi, out);
      out.add(subtree(lo, lo + k));
    }
  }

  private void subproof(long m, long lo, long hi, boolean whole, List<byte[]> out) {
    long n = hi - lo;
    if (m == n) {
      if (!whole) out.add(subtree(lo, hi));
      return;
    }
    long k = TreeMath.splitPoint(n);
    if (m <= k) {
      subproof(m, lo, lo + k, whole, out);
      out.add(subtree(lo + k, hi));
    } else {
      subproof(m - k, lo + k, hi, false, out);
      out.add(subtree(lo, lo + k));
    }
  }

  /** MTH(D[lo:hi]) for a range that RFC 9162's recursion produces (lo aligned to its split). */
  private byte[] subtree(long lo, long hi) {
    if (memo == null) return computed(lo, hi);
    Range r = new Range(lo, hi);
    byte[] h = memo.get(r);
    if (h == null) {
      h = computed(lo, hi);
      memo.put(r, h);
    }
    return h;
  }

  private byte[] computed(long lo, long hi) {
    long n = hi - lo;
    if (TreeMath.isPowerOfTwo(n) && lo % n == 0) {
      int level = Long.numberOfTrailingZeros(n);
      return nodes.hash(level, lo >>> level);
    }
    long k = TreeMath.splitPoint(n);
    return Hashes.nodeHash(subtree(lo, lo + k), subtree(lo + k, hi));
  }
}
