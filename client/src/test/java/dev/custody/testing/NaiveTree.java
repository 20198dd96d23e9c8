package dev.custody.testing;

import dev.custody.merkle.Hashes;
import java.util.ArrayList;
import java.util.List;

/**
 * RFC 6962 §2.1 written as literally as possible, from the RFC's recursive definitions and nothing
 * else: the reference that the real implementation is compared with. Slow on purpose.
 */
public final class NaiveTree {
  private final List<byte[]> leafHashes;

  /** The RFC 9162 root of these leaf hashes. */
  public static byte[] rootOf(List<byte[]> leafHashes) {
    return new NaiveTree(leafHashes).mth(0, leafHashes.size());
  }

  public NaiveTree(List<byte[]> leafHashes) {
    this.leafHashes = leafHashes;
  }

  public static NaiveTree ofLeaves(List<byte[]> leaves) {
    List<byte[]> h = new ArrayList<>();
    for (byte[] l : leaves) h.add(Hashes.leafHash(l));
    return new NaiveTree(h);
  }

  /** MTH(D[lo:hi]). */
  public byte[] mth(int lo, int hi) {
    int n = hi - lo;
    if (n == 0) return Hashes.sha256(new byte[0]);
    if (n == 1) return leafHashes.get(lo);
    int k = largestPowerOfTwoBelow(n);
    return Hashes.nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  }

  public byte[] root(int size) {
    return mth(0, size);
  }

  /** PATH(m, D[0:n]). */
  public List<byte[]> path(int m, int n) {
    return path(m, 0, n);
  }

  private List<byte[]> path(int m, int lo, int hi) {
    int n = hi - lo;
    List<byte[]> out = new ArrayList<>();
    if (n == 1) return out;
    int k = largestPowerOfTwoBelow(n);
    if (m < k) {
      out.addAll(path(m, lo, lo + k));
      out.add(mth(lo + k, hi));
    } else {
      out.addAll(path(m - k, lo + k, hi));
      out.add(mth(lo, lo + k));
    }
    return out;
  }

  /** PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). */
  public List<byte[]> proof(int m, int n) {
    return subproof(m, 0, n, true);
  }

  private List<byte[]> subproof(int m, int lo, int hi, boolean b) {
    int n = hi - lo;
    List<byte[]> out = new ArrayList<>();
    if (m == n) {
      if (!b) out.add(mth(lo, hi));
      return out;
    }
    int k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      out.addAll(subproof(m, lo, lo + k, b));
      out.add(mth(lo + k, hi));
    } else {
      out.addAll(subproof(m - k, lo + k, hi, false));
      out.add(mth(lo, lo + k));
    }
    return out;
  }

  private static int largestPowerOfTwoBelow(int n) {
    int k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }
}
