package dev.custody.merkle;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** RFC 9162 §2.1.1 hashing: SHA-256 with 0x00 / 0x01 domain separation for leaves and nodes. */
public final class Hashes {
  public static final int SIZE = 32;

  // MessageDigest is not thread-safe and getInstance costs more than hashing a node;
  // one digest per thread is a cache, not shared state.
  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(Hashes::newDigest);

  private Hashes() {}

  /** SHA-256 of the empty string: the root of the empty tree. */
  public static byte[] emptyRoot() {
    return sha256(new byte[0]);
  }

  public static byte[] leafHash(byte[] leaf) {
    MessageDigest d = SHA256.get();
    d.update((byte) 0x00);
    d.update(leaf);
    return d.digest();
  }

  public static byte[] nodeHash(byte[] left, byte[] right) {
    MessageDigest d = SHA256.get();
    d.update((byte) 0x01);
    d.update(left);
    d.update(right);
    return d.digest();
  }

  public static byte[] sha256(byte[] data) {
    return SHA256.get().digest(data);
  }

  /** Constant-length check that every hash handed to us from outside is a SHA-256 value. */
  static boolean isHash(byte[] h) {
    return h != null && h.length == SIZE;
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
  }
}
