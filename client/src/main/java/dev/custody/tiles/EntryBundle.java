package dev.custody.tiles;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** A tlog-tiles entry bundle: entries each prefixed by a big-endian uint16 length. */
public final class EntryBundle {
  private EntryBundle() {}

  public static byte[] encode(List<byte[]> entries) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] e : entries) {
      if (e.length > 0xffff) throw new IllegalArgumentException("an entry is at most 65,535 bytes");
      out.write(e.length >>> 8);
      out.write(e.length);
      out.writeBytes(e);
    }
    return out.toByteArray();
  }

  /** Parses exactly {@code count} entries and nothing more. */
  public static List<byte[]> parse(byte[] bundle, int count) {
    ByteBuffer b = ByteBuffer.wrap(bundle);
    List<byte[]> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      if (b.remaining() < 2)
        throw new IllegalArgumentException("entry bundle ends before entry " + i);
      int len = b.getShort() & 0xffff;
      if (b.remaining() < len)
        throw new IllegalArgumentException(
            "entry " + i + " claims " + len + " bytes; fewer remain");
      byte[] e = new byte[len];
      b.get(e);
      out.add(e);
    }
    if (b.hasRemaining())
      throw new IllegalArgumentException(
          "entry bundle has " + b.remaining() + " bytes after entry " + count);
    return out;
  }
}
