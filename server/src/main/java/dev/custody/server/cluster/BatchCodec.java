package dev.custody.server.cluster;

import dev.custody.server.sequencer.Admitted;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The bytes of a Raft entry (a {@link Proposal}: one batch of admitted entries and the log
 * timestamp its proposer read) and of the state machine's answer to it (an {@link Outcome}).
 * Big-endian, length-prefixed, a version byte first. Decoding trusts no count or length: every one
 * is checked against the bytes left and against the limits below before anything is allocated.
 */
final class BatchCodec {
  private BatchCodec() {}

  private static final byte VERSION = 1;

  /**
   * The newest batch format this build reads (and writes). A node proposes a newer format only once
   * the replicated state records that every member reads it ({@link #proposable}): during a rolling
   * upgrade the new nodes keep writing what the old ones read, so no node ever meets a committed
   * batch it cannot apply.
   */
  static final int NEWEST_READ = VERSION;

  /**
   * The first byte of a control record, never a batch format: {@link Reads}, which each node
   * proposes when it starts.
   */
  private static final byte CONTROL = 0;

  private static final byte CONTROL_READS = 1;

  /** A member's announcement: it reads batch formats up to {@code maxVersion}. */
  record Reads(String member, int maxVersion) {
    Reads {
      if (!Peers.ID.matcher(member).matches())
        throw new IllegalArgumentException("a member id of 1 to 32 of A-Z a-z 0-9 _ -");
      if (maxVersion < 1 || maxVersion > 255)
        throw new IllegalArgumentException("a batch format is 1 to 255, not " + maxVersion);
    }
  }

  /**
   * The batch format a node that reads up to {@code ownNewest} may propose now: the newest that
   * every member of {@code members} is recorded to read, and 1 for a member with no record.
   */
  static int proposable(Collection<String> members, Map<String, Integer> reads, int ownNewest) {
    int v = ownNewest;
    for (String m : members) v = Math.min(v, reads.getOrDefault(m, 1));
    return Math.max(1, v);
  }

  static boolean isControl(ByteBuffer in) {
    return in.remaining() > 0 && in.get(in.position()) == CONTROL;
  }

  static byte[] encode(Reads r) {
    byte[] id = r.member().getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(3 + id.length + 1)
        .put(CONTROL)
        .put(CONTROL_READS)
        .put((byte) id.length)
        .put(id)
        .put((byte) r.maxVersion())
        .array();
  }

  static Reads decodeReads(ByteBuffer in) {
    try {
      ByteBuffer b = in.duplicate();
      if (b.get() != CONTROL) throw new IllegalArgumentException("not a control record");
      byte kind = b.get();
      if (kind != CONTROL_READS)
        throw new IllegalArgumentException("control record kind " + kind + " is not known here");
      byte[] id = bytes(b, Byte.toUnsignedInt(b.get()), 32, "member id");
      int v = Byte.toUnsignedInt(b.get());
      end(b);
      return new Reads(new String(id, StandardCharsets.UTF_8), v);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("a control record ends early");
    }
  }

  /**
   * The bytes of {@code p} in batch format {@code version}.
   *
   * @throws IllegalArgumentException a format this build does not write
   */
  static byte[] encode(Proposal p, int version) {
    if (version != VERSION)
      throw new IllegalArgumentException("this build writes batch format " + VERSION + " only");
    return encode(p);
  }

  /** More entries than any batch holds (the sequencer's batches are at most a few thousand). */
  static final int MAX_ENTRIES = 65_536;

  /** An entry body: a link or an opaque entry is at most 64 KiB; room to spare, never unbounded. */
  static final int MAX_BODY = 1 << 20;

  static final int MAX_LOOKUPS = 64;
  static final int MAX_LOOKUP_KEY = 1024;
  static final int MAX_NOTE = 64 * 1024;

  /** A batch as the leader proposes it. */
  record Proposal(long timestampMs, List<Admitted> entries) {}

  /**
   * What applying a proposal did: for each of its entries, in order, the index it has in the log
   * (new, or where it already was) and whether it was already there; and the signed checkpoint of
   * the tree after the batch; and the log timestamp its new leaves carry.
   */
  record Outcome(long[] indices, boolean[] duplicate, long timestampMs, String checkpoint) {}

  static byte[] encode(Proposal p) {
    int size = 1 + 8 + 4;
    for (Admitted a : p.entries()) {
      size += 1 + 32 + 4 + a.body().length + 2;
      for (byte[] k : a.lookupKeys()) size += 2 + k.length;
    }
    ByteBuffer b =
        ByteBuffer.allocate(size).put(VERSION).putLong(p.timestampMs()).putInt(p.entries().size());
    for (Admitted a : p.entries()) {
      b.put((byte) (a.timestamped() ? 1 : 0))
          .put(a.dedupKey())
          .putInt(a.body().length)
          .put(a.body());
      b.putShort((short) a.lookupKeys().size());
      for (byte[] k : a.lookupKeys()) b.putShort((short) k.length).put(k);
    }
    return b.array();
  }

  static Proposal decodeProposal(ByteBuffer in) {
    try {
      ByteBuffer b = in.duplicate();
      version(b);
      long ts = b.getLong();
      int n = count(b.getInt(), b, MAX_ENTRIES, 1 + 32 + 4 + 2, "entries");
      List<Admitted> entries = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        byte flags = b.get();
        if ((flags & ~1) != 0) throw new IllegalArgumentException("unknown entry flags " + flags);
        byte[] key = new byte[32];
        b.get(key);
        byte[] body = bytes(b, b.getInt(), MAX_BODY, "entry body");
        int lookups = count(Short.toUnsignedInt(b.getShort()), b, MAX_LOOKUPS, 2, "lookup keys");
        List<byte[]> keys = new ArrayList<>(lookups);
        for (int j = 0; j < lookups; j++)
          keys.add(bytes(b, Short.toUnsignedInt(b.getShort()), MAX_LOOKUP_KEY, "lookup key"));
        entries.add(new Admitted(body, flags == 1, key, keys));
      }
      end(b);
      return new Proposal(ts, entries);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("a batch entry ends early");
    }
  }

  static byte[] encode(Outcome o) {
    byte[] note = o.checkpoint().getBytes(StandardCharsets.UTF_8);
    ByteBuffer b =
        ByteBuffer.allocate(1 + 4 + o.indices().length * 9 + 8 + 4 + note.length)
            .put(VERSION)
            .putInt(o.indices().length);
    for (int i = 0; i < o.indices().length; i++)
      b.putLong(o.indices()[i]).put((byte) (o.duplicate()[i] ? 1 : 0));
    return b.putLong(o.timestampMs()).putInt(note.length).put(note).array();
  }

  static Outcome decodeOutcome(ByteBuffer in) {
    try {
      ByteBuffer b = in.duplicate();
      version(b);
      int n = count(b.getInt(), b, MAX_ENTRIES, 9, "results");
      long[] indices = new long[n];
      boolean[] dup = new boolean[n];
      for (int i = 0; i < n; i++) {
        indices[i] = b.getLong();
        if (indices[i] < 0) throw new IllegalArgumentException("negative index in a batch result");
        dup[i] = b.get() != 0;
      }
      long ts = b.getLong();
      String note =
          new String(bytes(b, b.getInt(), MAX_NOTE, "checkpoint"), StandardCharsets.UTF_8);
      end(b);
      return new Outcome(indices, dup, ts, note);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("a batch result ends early");
    }
  }

  private static void version(ByteBuffer b) {
    byte v = b.get();
    if (v != VERSION)
      throw new IllegalArgumentException(
          "batch format " + v + " is not known here (this node reads " + VERSION + ")");
  }

  /**
   * A count, checked against its limit and against the bytes left at {@code minBytesEach} per item.
   */
  private static int count(int n, ByteBuffer b, int max, int minBytesEach, String what) {
    if (n < 0 || n > max || (long) n * minBytesEach > b.remaining()) {
      throw new IllegalArgumentException(
          "a batch claims "
              + n
              + " "
              + what
              + "; at most "
              + max
              + " and no more than its bytes hold");
    }
    return n;
  }

  private static byte[] bytes(ByteBuffer b, int len, int max, String what) {
    if (len < 0 || len > max || len > b.remaining()) {
      throw new IllegalArgumentException(what + " of " + len + " bytes is out of bounds");
    }
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }

  private static void end(ByteBuffer b) {
    if (b.hasRemaining())
      throw new IllegalArgumentException(b.remaining() + " bytes follow the end of a batch");
  }
}
