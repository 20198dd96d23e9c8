package dev.custody.server.cluster;

import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * How far a node's store has applied the replicated log: the Raft term and index of the last batch
 * applied, and the log timestamp that batch was given (the next batch's timestamp is never below
 * it). Written in the same RocksDB write as the batch itself.
 */
record AppliedPosition(long term, long index, long timestampMs) {
  static final AppliedPosition NONE = new AppliedPosition(0, -1, 0);

  byte[] encode() {
    return ByteBuffer.allocate(24).putLong(term).putLong(index).putLong(timestampMs).array();
  }

  static AppliedPosition decode(Optional<byte[]> stored) {
    if (stored.isEmpty()) return NONE;
    byte[] b = stored.get();
    if (b.length != 24)
      throw new IllegalStateException(
          "the store's applied position is " + b.length + " bytes, not 24");
    ByteBuffer in = ByteBuffer.wrap(b);
    return new AppliedPosition(in.getLong(), in.getLong(), in.getLong());
  }
}
