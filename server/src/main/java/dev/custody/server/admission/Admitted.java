package dev.custody.server.admission;

/** An entry that passed admission, ready to be sequenced. */
public interface Admitted {
  /** 32 bytes under which a resubmission of this entry finds it. */
  byte[] dedupKey();

  /**
   * True when {@link #dedupKey} is the leaf hash itself (the leaf does not depend on the
   * sequencer), so the leaf-hash index serves for dedup and no separate id is stored.
   */
  boolean keyedByLeafHash();

  /** The Merkle leaf for this entry, given the timestamp the log assigns when it sequences it. */
  byte[] leaf(long logTimestampMs);

  /** Secondary index keys ({@link dev.custody.server.storage.LookupKeys}) under which to find this entry. */
  default java.util.List<byte[]> lookupKeys() {
    return java.util.List.of();
  }
}
