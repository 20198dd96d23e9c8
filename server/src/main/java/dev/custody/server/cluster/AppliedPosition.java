package dev.custody.server.cluster;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * How far a node's store has applied the replicated log: the Raft term and index of the last entry
 * applied, the log timestamp the last batch was given (the next batch's timestamp is never below
 * it), and the newest batch format each member has announced it reads ({@link BatchCodec.Reads}).
 * Written in the same RocksDB write as the entry itself, so it is replicated state: every node
 * holds the same value after the same entries.
 *
 * @param reads member id to the newest batch format it reads; sorted, so the encoding is one
 */
record AppliedPosition(long term, long index, long timestampMs, SortedMap<String, Integer> reads) {
  static final AppliedPosition NONE = new AppliedPosition(0, -1, 0, new TreeMap<>());

  AppliedPosition {
    reads = Collections.unmodifiableSortedMap(new TreeMap<>(reads));
  }

  /** The position after the entry at (term, index), the timestamp and the members' formats kept. */
  AppliedPosition at(long term, long index, long timestampMs) {
    return new AppliedPosition(term, index, timestampMs, reads);
  }

  /** The same, recording that {@code member} reads formats up to {@code version}. */
  AppliedPosition withReads(long term, long index, String member, int version) {
    SortedMap<String, Integer> r = new TreeMap<>(reads);
    r.put(member, version);
    return new AppliedPosition(term, index, timestampMs, r);
  }

  byte[] encode() {
    int size = 24 + 2;
    for (String m : reads.keySet()) size += 1 + m.getBytes(StandardCharsets.UTF_8).length + 1;
    ByteBuffer b = ByteBuffer.allocate(size).putLong(term).putLong(index).putLong(timestampMs);
    b.putShort((short) reads.size());
    for (Map.Entry<String, Integer> e : reads.entrySet()) {
      byte[] id = e.getKey().getBytes(StandardCharsets.UTF_8);
      b.put((byte) id.length).put(id).put((byte) (int) e.getValue());
    }
    return b.array();
  }

  static AppliedPosition decode(Optional<byte[]> stored) {
    if (stored.isEmpty()) return NONE;
    byte[] b = stored.get();
    try {
      ByteBuffer in = ByteBuffer.wrap(b);
      long term = in.getLong();
      long index = in.getLong();
      long ts = in.getLong();
      SortedMap<String, Integer> reads = new TreeMap<>();
      if (in.hasRemaining()) {
        int n = Short.toUnsignedInt(in.getShort());
        for (int i = 0; i < n; i++) {
          byte[] id = new byte[Byte.toUnsignedInt(in.get())];
          in.get(id);
          reads.put(new String(id, StandardCharsets.UTF_8), Byte.toUnsignedInt(in.get()));
        }
      }
      if (in.hasRemaining()) throw new IllegalStateException("bytes follow");
      return new AppliedPosition(term, index, ts, reads);
    } catch (BufferUnderflowException | IllegalStateException e) {
      throw new IllegalStateException(
          "the store's applied position (" + b.length + " bytes) is unreadable");
    }
  }
}
