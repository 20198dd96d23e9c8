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
}
