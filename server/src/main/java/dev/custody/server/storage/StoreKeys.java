package dev.custody.server.storage;

import java.nio.ByteBuffer;

/** Big-endian keys, so that RocksDB iterates indices and tiles in order. */
final class StoreKeys {
  private StoreKeys() {}

  static byte[] index(long i) {
    return ByteBuffer.allocate(8).putLong(i).array();
  }

  static long index(byte[] key) {
    return ByteBuffer.wrap(key).getLong();
  }

  /**
   * Slice {@code n} of stratum {@code s} (see {@link LogStorage#slice}): the stratum, then the
   * slice index, so that a tile's 16 slices are adjacent and in order.
   */
  static byte[] slice(int s, long n) {
    return ByteBuffer.allocate(9).put((byte) s).putLong(n).array();
  }
}
