package dev.custody.chain;

/**
 * The logged entry: {@code uint8 leaf_version; uint64 log_timestamp_ms; opaque
 * signed_link<1..2^16-1>}.
 */
public record Leaf(long logTimestampMs, byte[] signedLink) {
  public static final int VERSION = 1;

  public Leaf {
    if (logTimestampMs < 0)
      throw new IllegalArgumentException("log timestamp must not be negative");
    signedLink = signedLink.clone();
  }

  @Override
  public byte[] signedLink() {
    return signedLink.clone();
  }

  public byte[] encode() {
    return new TlsWire.Writer()
        .u8(VERSION)
        .u64(logTimestampMs)
        .opaque(1, 65535, signedLink)
        .bytes();
  }

  public static Leaf parse(byte[] b) throws LinkException {
    TlsWire.Reader r = new TlsWire.Reader(b, "leaf");
    int v = r.u8();
    if (v != VERSION) throw new LinkException("leaf version " + v + " is not supported (only 1)");
    long ts = r.u64();
    byte[] link = r.opaque(1, 65535, "signed_link");
    r.end();
    return new Leaf(ts, link);
  }
}
