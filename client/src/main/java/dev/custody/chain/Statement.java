package dev.custody.chain;

import dev.custody.io.StrictUtf8;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * What a team signs: "layer {@code layerIndex} of {@code repository}, with this digest, diff ID and
 * chain ID, sits on the link {@code prevLinkId}, and the image it makes is {@code manifestDigest}".
 * One encoder ({@link #encode}) and one strict parser ({@link #parse}).
 */
public record Statement(
    String repository,
    Digest manifestDigest,
    long layerIndex,
    Digest layerDigest,
    Digest diffId,
    Digest chainId,
    byte[] prevLinkId,
    long signedAtMs) {
  public static final int VERSION = 1;
  public static final byte[] NO_PREDECESSOR = new byte[32];

  public Statement {
    checkRepository(repository);
    if (layerIndex < 0 || layerIndex > 0xffffffffL)
      throw new IllegalArgumentException("layer index must fit in 32 bits");
    if (prevLinkId.length != 32)
      throw new IllegalArgumentException("prev_link_id must be 32 bytes");
    if (signedAtMs < 0) throw new IllegalArgumentException("signed_at_ms must not be negative");
    prevLinkId = prevLinkId.clone();
  }

  @Override
  public byte[] prevLinkId() {
    return prevLinkId.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Statement t && Arrays.equals(encode(), t.encode());
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(encode());
  }

  public boolean hasPredecessor() {
    return !Arrays.equals(prevLinkId, NO_PREDECESSOR);
  }

  public byte[] encode() {
    TlsWire.Writer w =
        new TlsWire.Writer()
            .u8(VERSION)
            .opaque(1, 255, repository.getBytes(StandardCharsets.UTF_8));
    manifestDigest.write(w);
    w.u32(layerIndex);
    layerDigest.write(w);
    diffId.write(w);
    chainId.write(w);
    return w.fixed(prevLinkId).u64(signedAtMs).bytes();
  }

  public static Statement parse(byte[] b) throws LinkException {
    TlsWire.Reader r = new TlsWire.Reader(b, "statement");
    int version = r.u8();
    if (version != VERSION)
      throw new LinkException("statement version " + version + " is not supported (only 1)");
    String repo = utf8(r.opaque(1, 255, "repository"));
    Digest manifest = Digest.read(r, "manifest_digest");
    long layer = r.u32();
    Digest layerDigest = Digest.read(r, "layer_digest");
    Digest diffId = Digest.read(r, "diff_id");
    Digest chainId = Digest.read(r, "chain_id");
    byte[] prev = r.fixed(32, "prev_link_id");
    long signedAt = r.u64();
    r.end();
    try {
      return new Statement(repo, manifest, layer, layerDigest, diffId, chainId, prev, signedAt);
    } catch (IllegalArgumentException e) {
      throw new LinkException("statement: " + e.getMessage());
    }
  }

  /**
   * UTF-8, no spaces or control characters, and no tag or digest: a fully expanded repository name.
   */
  static void checkRepository(String repo) {
    if (repo == null || repo.isEmpty()) throw new IllegalArgumentException("repository is empty");
    if (repo.getBytes(StandardCharsets.UTF_8).length > 255)
      throw new IllegalArgumentException("repository is over 255 bytes");
    for (int i = 0; i < repo.length(); i++) {
      char c = repo.charAt(i);
      if (c <= 0x20 || c == 0x7f)
        throw new IllegalArgumentException("repository contains a space or control character");
    }
    if (repo.indexOf('@') >= 0)
      throw new IllegalArgumentException("repository must not carry a digest (@)");
    if (repo.substring(repo.lastIndexOf('/') + 1).indexOf(':') >= 0) {
      throw new IllegalArgumentException("repository must not carry a tag (:tag)");
    }
  }

  private static String utf8(byte[] b) throws LinkException {
    return StrictUtf8.decode(b)
        .orElseThrow(() -> new LinkException("statement: repository is not valid UTF-8"));
  }
}
