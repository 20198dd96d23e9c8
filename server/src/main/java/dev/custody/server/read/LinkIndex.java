package dev.custody.server.read;

import dev.custody.chain.Digest;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.merkle.Hashes;
import dev.custody.server.storage.LogStorage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The log's index of layer links: what each link is filed under, and the lookups the services make.
 * The store keeps the keys as opaque bytes ({@link LogStorage#lookup}); what they mean lives here.
 * A key is one tag byte and a 32-byte value (a digest, an id, or the SHA-256 of a repository name
 * or of a manifest and a key), for {@link #manifestAtLayer} a 4-byte layer; the store appends the
 * log index, so a prefix scan lists the entries in log order. One family is not fixed-size: {@link
 * #repositoryName} files the name itself (tag, UTF-8 name, a 0 byte), so that names sort and a
 * prefix of them can be listed. Thread-safe.
 */
public final class LinkIndex {
  private static final byte MANIFEST = 'm';
  private static final byte KEY_ID = 'k';
  private static final byte REPOSITORY = 'r';
  private static final byte PREDECESSOR = 'p';
  private static final byte MANIFEST_LAYER = 'L';
  private static final byte MANIFEST_SIGNER = 'K';
  private static final byte LAYER = 'l';
  private static final byte REPOSITORY_NAME = 'n';

  private final LogStorage storage;

  public LinkIndex(LogStorage storage) {
    this.storage = storage;
  }

  /** Every key a logged link is filed under, in the current store format. */
  public static List<byte[]> keysOf(SignedLink link) {
    Statement s = link.statement();
    List<byte[]> keys =
        new ArrayList<>(
            List.of(
                manifest(s.manifestDigest()),
                keyId(link.keyId()),
                repository(s.repository()),
                manifestAtLayer(s.manifestDigest(), s.layerIndex()),
                manifestSigner(s.manifestDigest(), link.keyId()),
                layer(s.layerDigest()),
                repositoryName(s.repository())));
    if (s.hasPredecessor()) keys.add(successorsOf(s.prevLinkId()));
    return keys;
  }

  /**
   * Indices of the links filed under {@code key}, from {@code start} on, in log order, at most
   * {@code limit}.
   */
  public List<Long> find(byte[] key, long start, int limit) {
    return storage.lookup(key, start, limit);
  }

  /**
   * Indices of the links filed under {@code key} below {@code before}, newest first, at most {@code
   * limit}: one seek, however many the key holds.
   */
  public List<Long> newest(byte[] key, long before, int limit) {
    return storage.lookupNewest(key, before, limit);
  }

  /** The top layer any link names for this manifest, if any: one seek. */
  public OptionalLong topLayerOf(Digest manifest) {
    byte[] prefix = manifestLayers(manifest);
    return storage
        .greatestLookupKey(prefix, prefix.length + Integer.BYTES)
        .map(
            k ->
                OptionalLong.of(
                    ByteBuffer.wrap(k, prefix.length, Integer.BYTES).getInt() & 0xffffffffL))
        .orElse(OptionalLong.empty());
  }

  /**
   * Repository names that begin with {@code prefix} and have a link below {@code size}, in name
   * order, at most {@code limit}: one seek per name listed, however many links each has.
   */
  public List<String> repositoriesWithPrefix(String prefix, long size, int limit) {
    byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
    byte[] start = ByteBuffer.allocate(p.length + 1).put(REPOSITORY_NAME).put(p).array();
    List<String> out = new ArrayList<>();
    for (byte[] k : storage.lookupKeysWithPrefix(start, size, limit)) {
      out.add(new String(k, 1, k.length - 2, StandardCharsets.UTF_8)); // tag, name, the 0 byte
    }
    return out;
  }

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
   * Links naming this manifest at this layer. The key is the manifest's digest, then the layer (4
   * bytes), so {@link LogStorage#greatestLookupKey} under {@link #manifestLayers} finds the top
   * layer in one seek: the top of the image's chain, however many other links name it.
   */
  public static byte[] manifestAtLayer(Digest d, long layer) {
    return ByteBuffer.allocate(37).put(manifestLayers(d)).putInt((int) layer).array();
  }

  /** The prefix of every {@link #manifestAtLayer} key of this manifest. */
  public static byte[] manifestLayers(Digest d) {
    return key(MANIFEST_LAYER, d.value());
  }

  /**
   * Links naming this manifest signed by this key: what a verifier who trusts that key asks for.
   */
  public static byte[] manifestSigner(Digest d, byte[] keyId) {
    return key(
        MANIFEST_SIGNER, Hashes.sha256(ByteBuffer.allocate(64).put(d.value()).put(keyId).array()));
  }

  /** Links signing this layer blob (by its compressed digest), in any image. Since format 5. */
  public static byte[] layer(Digest d) {
    return key(LAYER, d.value());
  }

  /**
   * Links for this repository, filed under the name itself (it holds no 0 byte: names have no
   * control characters) so that {@link #repositoriesWithPrefix} can list names. Since format 5.
   */
  public static byte[] repositoryName(String repository) {
    byte[] name = repository.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(name.length + 2)
        .put(REPOSITORY_NAME)
        .put(name)
        .put((byte) 0)
        .array();
  }

  private static byte[] key(byte tag, byte[] value32) {
    if (value32.length != 32) throw new IllegalArgumentException("lookup values are 32 bytes");
    return ByteBuffer.allocate(33).put(tag).put(value32).array();
  }
}
