package dev.custody.merkle;

/** Index arithmetic for RFC 9162 trees. */
final class TreeMath {
  private TreeMath() {}

  /** The largest power of two strictly less than n, for n > 1 (RFC 9162's k). */
  static long splitPoint(long n) {
    return Long.highestOneBit(n - 1);
  }

  static boolean isPowerOfTwo(long n) {
    return n > 0 && (n & (n - 1)) == 0;
  }
}
