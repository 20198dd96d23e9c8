package dev.custody.server.sequencer;

import dev.custody.chain.Leaf;
import dev.custody.merkle.Hashes;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.storage.LogStorage;
import java.util.ArrayList;
import java.util.List;

/**
 * An entry that passed admission, ready to be sequenced: a plain value, so that a replicated log
 * can carry it to the other nodes as it is ({@code cluster.BatchCodec}) and every node builds the
 * same leaf from it.
 *
 * @param body the entry's bytes as admitted
 * @param timestamped true when the leaf wraps {@code body} with the log's timestamp (a layer link,
 *     {@link Leaf}); false when the leaf is {@code body} itself (an opaque entry)
 * @param dedupKey 32 bytes under which a resubmission of this entry finds it: the leaf hash when
 *     the leaf does not depend on the sequencer ({@code !timestamped}), else the entry's own id
 * @param lookupKeys secondary index keys ({@link LinkIndex}) under which to find this entry
 */
public record Admitted(byte[] body, boolean timestamped, byte[] dedupKey, List<byte[]> lookupKeys) {
  public Admitted {
    if (dedupKey.length != Hashes.SIZE)
      throw new IllegalArgumentException("a dedup key is 32 bytes");
    lookupKeys = List.copyOf(lookupKeys);
  }

  /** An entry that is its own leaf, found again by its leaf hash. */
  public static Admitted opaque(byte[] body) {
    byte[] copy = body.clone();
    return new Admitted(copy, false, Hashes.leafHash(copy), List.of());
  }

  /**
   * True when {@link #dedupKey} is the leaf hash itself (the leaf does not depend on the
   * sequencer), so the leaf-hash index serves for dedup and no separate id is stored.
   */
  public boolean keyedByLeafHash() {
    return !timestamped;
  }

  /**
   * Where {@code storage} holds each of these entries (found by its dedup key), in one batched
   * read: its index, or -1 when it holds none.
   */
  public static long[] indicesIn(LogStorage storage, List<Admitted> entries) {
    List<byte[]> keys = new ArrayList<>(entries.size());
    boolean[] byLeafHash = new boolean[entries.size()];
    for (int i = 0; i < byLeafHash.length; i++) {
      keys.add(entries.get(i).dedupKey);
      byLeafHash[i] = entries.get(i).keyedByLeafHash();
    }
    return storage.indicesOfDedupKeys(keys, byLeafHash);
  }

  /** The Merkle leaf for this entry, given the timestamp the log assigns when it sequences it. */
  public byte[] leaf(long logTimestampMs) {
    return timestamped ? new Leaf(logTimestampMs, body).encode() : body;
  }
}
