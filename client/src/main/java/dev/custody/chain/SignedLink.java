package dev.custody.chain;

import dev.custody.merkle.Hashes;
import java.nio.charset.StandardCharsets;

/**
 * A team's signed statement, exactly as it travels and is logged. {@link #parse} checks syntax,
 * payload type, the statement and that the key suits the scheme; {@link #verifySignature} checks
 * the signature. The bytes are kept as received: {@link #linkId} hashes exactly them.
 */
public final class SignedLink {
  public static final String PAYLOAD_TYPE = "application/vnd.custody.layer-link.v1";

  private final byte[] encoded;
  private final byte[] statementBytes;
  private final Statement statement;
  private final int scheme;
  private final byte[] publicKey;
  private final byte[] signature;

  private SignedLink(
      byte[] encoded,
      byte[] statementBytes,
      Statement statement,
      int scheme,
      byte[] publicKey,
      byte[] signature) {
    this.encoded = encoded;
    this.statementBytes = statementBytes;
    this.statement = statement;
    this.scheme = scheme;
    this.publicKey = publicKey;
    this.signature = signature;
  }

  /** Signs a statement: the only way to make a SignedLink besides parsing one. */
  public static SignedLink sign(Statement s, LinkKeys.Signer key) {
    byte[] st = s.encode();
    byte[] sig = key.sign(Pae.encode(PAYLOAD_TYPE, st));
    byte[] enc = encode(st, key.scheme().code(), key.publicKey(), sig);
    return new SignedLink(enc, st, s, key.scheme().code(), key.publicKey(), sig);
  }

  /** The one encoder of a SignedLink (docs/design/formats.md). */
  private static byte[] encode(byte[] statement, int scheme, byte[] publicKey, byte[] signature) {
    return new TlsWire.Writer()
        .opaque(1, 255, PAYLOAD_TYPE.getBytes(StandardCharsets.UTF_8))
        .opaque(1, 65535, statement)
        .u16(scheme)
        .opaque(1, 65535, publicKey)
        .opaque(1, 65535, signature)
        .bytes();
  }

  /**
   * The bytes of this link with {@code signature} in place of its own: what someone who altered a
   * signature would send (for tests and fuzzing of the signature rules). Not verified.
   */
  public byte[] encodedWithSignature(byte[] signature) {
    return encode(statementBytes, scheme, publicKey, signature);
  }

  public static SignedLink parse(byte[] b) throws LinkException {
    TlsWire.Reader r = new TlsWire.Reader(b, "signed link");
    String type = new String(r.opaque(1, 255, "payload_type"), StandardCharsets.UTF_8);
    if (!PAYLOAD_TYPE.equals(type))
      throw new LinkException("payload type \"" + type + "\" is not " + PAYLOAD_TYPE);
    byte[] st = r.opaque(1, 65535, "statement");
    int scheme = r.u16();
    byte[] key = r.opaque(1, 65535, "public_key");
    byte[] sig = r.opaque(1, 65535, "signature");
    r.end();
    Statement statement = Statement.parse(st);
    LinkKeys.Scheme.of(scheme).checkKey(key);
    return new SignedLink(b.clone(), st, statement, scheme, key, sig);
  }

  /**
   * Verifies the signature over PAE(payload type, statement) with the link's own key, in Bouncy
   * Castle.
   */
  public void verifySignature() throws LinkException {
    verifySignature(LinkVerifier.bouncyCastle());
  }

  /**
   * Verifies the signature with {@code verifier}; every verifier gives the same verdict ({@link
   * LinkVerifier}).
   */
  public void verifySignature(LinkVerifier verifier) throws LinkException {
    LinkKeys.Scheme s = LinkKeys.Scheme.of(scheme);
    if (!verifier.verify(s, publicKey, Pae.encode(PAYLOAD_TYPE, statementBytes), signature)) {
      throw new LinkException(
          s == LinkKeys.Scheme.ECDSA_P256_SHA256 && !LinkVerifier.ecdsaAcceptable(signature)
              ? "ECDSA signature is not strict DER with 1 <= r < n and a low s (s <= n/2)"
              : "signature does not verify");
    }
  }

  public Statement statement() {
    return statement;
  }

  public int signatureScheme() {
    return scheme;
  }

  public byte[] publicKey() {
    return publicKey.clone();
  }

  /** The signature as it travels: Ed25519's 64 bytes, or ECDSA's DER. */
  public byte[] signature() {
    return signature.clone();
  }

  public byte[] encoded() {
    return encoded.clone();
  }

  /**
   * SHA-256 of the SignedLink bytes: the dedup key, and what the next link's prev_link_id names.
   */
  public byte[] linkId() {
    return Hashes.sha256(encoded);
  }

  /** SHA-256 of the public key (SPKI DER): how policies and monitors name signers. */
  public byte[] keyId() {
    return Hashes.sha256(publicKey);
  }
}
