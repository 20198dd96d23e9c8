package dev.custody.chain;

import dev.custody.merkle.Hashes;
import java.util.Arrays;
import java.util.HexFormat;

/** {@code struct { uint8 algorithm; opaque value[32]; }}: only algorithm 1, SHA-256, is defined. */
public record Digest(byte[] value) {
  public static final int SHA256 = 1;

  public Digest {
    if (value.length != Hashes.SIZE)
      throw new IllegalArgumentException("a SHA-256 digest is 32 bytes");
    value = value.clone();
  }

  @Override
  public byte[] value() {
    return value.clone();
  }

  public static Digest sha256Of(byte[] data) {
    return new Digest(Hashes.sha256(data));
  }

  /** Parses the OCI form {@code sha256:<64 lowercase hex>}. */
  public static Digest parse(String s) throws LinkException {
    if (s == null || !s.matches("sha256:[0-9a-f]{64}")) {
      throw new LinkException("\"" + s + "\" is not a sha256:<64 lowercase hex> digest");
    }
    return new Digest(HexFormat.of().parseHex(s.substring(7)));
  }

  /** The OCI form {@code sha256:<hex>}. */
  @Override
  public String toString() {
    return "sha256:" + HexFormat.of().formatHex(value);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Digest d && Arrays.equals(value, d.value);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(value);
  }

  static Digest read(TlsWire.Reader r, String field) throws LinkException {
    int alg = r.u8();
    if (alg != SHA256) throw new LinkException("unknown digest algorithm " + alg + " in " + field);
    return new Digest(r.fixed(Hashes.SIZE, field));
  }

  void write(TlsWire.Writer w) {
    w.u8(SHA256).fixed(value);
  }
}
