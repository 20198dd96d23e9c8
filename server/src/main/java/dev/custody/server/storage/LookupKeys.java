package dev.custody.server.storage;

import dev.custody.chain.Digest;
import dev.custody.merkle.Hashes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Keys of the {@code lookups} column family: one tag byte, a 32-byte value (a digest, an id, or
 * the SHA-256 of a repository name or of a manifest and a key), for {@link #manifestAtLayer} a
 * 4-byte layer, then the log index. A prefix scan over all but the index lists the entries in log
 * order. One family is not fixed-size: {@link #repositoryName} files the name itself (tag, UTF-8
 * name, a 0 byte, index), so that names sort and a prefix of them can be listed.
 */
public final class LookupKeys {
  private static final byte MANIFEST = 'm';
  private static final byte KEY_ID = 'k';
  private static final byte REPOSITORY = 'r';
  private static final byte PREDECESSOR = 'p';
  private static final byte MANIFEST_LAYER = 'L';
  private static final byte MANIFEST_SIGNER = 'K';
  private static final byte LAYER = 'l';
  private static final byte REPOSITORY_NAME = 'n';

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

  /**
   * Links naming this manifest at this layer. The key is the manifest's digest, then the layer
   * (4 bytes), so {@link LogStorage#highestUnder} on {@link #manifestLayers} finds the top layer
   * in one seek: the top of the image's chain, however many other links name it.
   */
  public static byte[] manifestAtLayer(Digest d, long layer) {
    return ByteBuffer.allocate(37).put(manifestLayers(d)).putInt((int) layer).array();
  }

  /** The prefix of every {@link #manifestAtLayer} key of this manifest. */
  public static byte[] manifestLayers(Digest d) {
    return key(MANIFEST_LAYER, d.value());
  }

  /** Links naming this manifest signed by this key: what a verifier who trusts that key asks for. */
  public static byte[] manifestSigner(Digest d, byte[] keyId) {
    return key(MANIFEST_SIGNER, Hashes.sha256(ByteBuffer.allocate(64).put(d.value()).put(keyId).array()));
  }

  /** Links signing this layer blob (by its compressed digest), in any image. Since format 5. */
  public static byte[] layer(Digest d) {
    return key(LAYER, d.value());
  }

  /**
   * Links for this repository, filed under the name itself (it holds no 0 byte: names have no
   * control characters) so that {@link LogStorage#repositoriesWithPrefix} can list names. Since format 5.
   */
  public static byte[] repositoryName(String repository) {
    byte[] name = repository.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(name.length + 2).put(REPOSITORY_NAME).put(name).put((byte) 0).array();
  }

  /** The start of every {@link #repositoryName} key whose name begins with {@code prefix}. */
  static byte[] repositoryNamePrefix(String prefix) {
    byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(p.length + 1).put(REPOSITORY_NAME).put(p).array();
  }

  /** The name in a {@link #repositoryName} key with its index, or null when {@code k} is not one. */
  static String repositoryNameOf(byte[] k) {
    if (k.length < 10 || k[0] != REPOSITORY_NAME || k[k.length - 9] != 0) return null;
    return new String(k, 1, k.length - 10, StandardCharsets.UTF_8);
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
