package dev.custody.server.storage;

import dev.custody.chain.Digest;
import dev.custody.merkle.Hashes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Keys of the {@code lookups} column family: one tag byte, a 32-byte value (a digest, an id, or
 * the SHA-256 of a repository name, so every key has one length), then the log index. A prefix
 * scan over tag and value lists the entries in log order.
 */
public final class LookupKeys {
  private static final byte MANIFEST = 'm';
  private static final byte KEY_ID = 'k';
  private static final byte REPOSITORY = 'r';
  private static final byte PREDECESSOR = 'p';

  private LookupKeys() {}

  public static byte[] manifest(Digest d) {
    return key(MANIFEST, d.value());
  }

  public static byte[] keyId(byte[] keyId) {
    return key(KEY_ID, keyId);
  }

  public static byte[] repository(String repository) {
    return key(REPOSITORY, Hashes.sha256(repository.getBytes(StandardCharsets.UTF_8)));
  }

  /** Links that stand on the link {@code linkId}. */
  public static byte[] successorsOf(byte[] linkId) {
    return key(PREDECESSOR, linkId);
  }

  private static byte[] key(byte tag, byte[] value32) {
    if (value32.length != 32) throw new IllegalArgumentException("lookup values are 32 bytes");
    return ByteBuffer.allocate(33).put(tag).put(value32).array();
  }

  static byte[] withIndex(byte[] key, long index) {
    return ByteBuffer.allocate(key.length + 8).put(key).putLong(index).array();
  }

  static boolean hasPrefix(byte[] k, byte[] prefix) {
    return k.length == prefix.length + 8 && Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length);
  }

  static long indexOf(byte[] k) {
    return ByteBuffer.wrap(k, k.length - 8, 8).getLong();
  }
}
