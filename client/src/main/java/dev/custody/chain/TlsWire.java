package dev.custody.chain;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;

/**
 * The TLS presentation language (RFC 8446 §3) as docs/design/formats.md uses it: big-endian
 * integers and length-prefixed byte strings. The reader trusts no length: every prefix is checked
 * against its bounds and against the bytes that are really there.
 */
final class TlsWire {
  private TlsWire() {}

  static final class Reader {
    private final ByteBuffer b;
    private final String what;

    Reader(byte[] data, String what) {
      this.b = ByteBuffer.wrap(data);
      this.what = what;
    }

    int u8() throws LinkException {
      need(1, "a one-byte field");
      return b.get() & 0xff;
    }

    int u16() throws LinkException {
      need(2, "a two-byte field");
      return b.getShort() & 0xffff;
    }

    long u32() throws LinkException {
      need(4, "a four-byte field");
      return b.getInt() & 0xffffffffL;
    }

    long u64() throws LinkException {
      need(8, "an eight-byte field");
      long v = b.getLong();
      if (v < 0) throw new LinkException(what + ": 64-bit value beyond 2^63-1 is not supported");
      return v;
    }

    byte[] fixed(int n, String field) throws LinkException {
      need(n, field);
      byte[] out = new byte[n];
      b.get(out);
      return out;
    }

    /** opaque field&lt;min..max&gt;: a 1-byte prefix when max &lt; 256, else 2 bytes. */
    byte[] opaque(int min, int max, String field) throws LinkException {
      int len = max < 256 ? u8() : u16();
      if (len < min || len > max) {
        throw new LinkException(
            what + ": " + field + " is " + len + " bytes; it must be " + min + " to " + max);
      }
      if (b.remaining() < len) {
        throw new LinkException(
            what
                + ": "
                + field
                + " claims "
                + len
                + " bytes but only "
                + b.remaining()
                + " remain");
      }
      return fixed(len, field);
    }

    void end() throws LinkException {
      if (b.hasRemaining())
        throw new LinkException(what + ": " + b.remaining() + " trailing bytes");
    }

    private void need(int n, String field) throws LinkException {
      if (b.remaining() < n)
        throw new LinkException(what + " is truncated (reading " + field + ")");
    }
  }

  static final class Writer {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Writer u8(int v) {
      out.write(v);
      return this;
    }

    Writer u16(int v) {
      out.write(v >>> 8);
      out.write(v);
      return this;
    }

    Writer u32(long v) {
      out.writeBytes(ByteBuffer.allocate(4).putInt((int) v).array());
      return this;
    }

    Writer u64(long v) {
      out.writeBytes(ByteBuffer.allocate(8).putLong(v).array());
      return this;
    }

    Writer fixed(byte[] v) {
      out.writeBytes(v);
      return this;
    }

    Writer opaque(int min, int max, byte[] v) {
      if (v.length < min || v.length > max) {
        throw new IllegalArgumentException(
            "field of " + v.length + " bytes; it must be " + min + " to " + max);
      }
      if (max < 256) u8(v.length);
      else u16(v.length);
      return fixed(v);
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }
}
