package dev.custody.server.storage;

import java.nio.ByteBuffer;

/** Big-endian keys, so that RocksDB iterates indices and tiles in order. */
final class Keys {
  private Keys() {}

  static byte[] index(long i) {
    return ByteBuffer.allocate(8).putLong(i).array();
  }

  static long index(byte[] key) {
    return ByteBuffer.wrap(key).getLong();
  }

  static byte[] tile(int level, long index) {
    return ByteBuffer.allocate(9).put((byte) level).putLong(index).array();
  }

  /**
   * Stratum {@code s} holds the nodes at tree level 4s, 256 to a record: even strata are the
   * tlog-tiles tiles (keyed as {@link #tile}), odd strata the mid tiles, under a level byte with
   * the high bit set so that the two can never be confused.
   */
  static byte[] stratum(int s, long index) {
    return s % 2 == 0 ? tile(s / 2, index) : ByteBuffer.allocate(9).put((byte) (0x80 | s / 2)).putLong(index).array();
  }
}
