package dev.custody.tiles;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A bounded, lock-free cache of perfect Merkle nodes, or of runs of them (a server caches the
 * slices its proofs read, trimmed to a tree it has published). Perfect nodes never change once they
 * exist, so a cached hash is never stale; a cached run may be shorter than a later tree's, and the
 * caller then reads it again. Direct-mapped: a colliding entry simply replaces the one in its slot,
 * which keeps reads and writes to one array access each.
 */
public final class NodeCache {
  private record Entry(int level, long index, byte[] hash) {}

  private final AtomicReferenceArray<Entry> slots;
  private final int mask;
  private final int log2Slots;

  /**
   * @param log2Slots the cache holds up to 2^log2Slots nodes (about 100 bytes each)
   */
  public NodeCache(int log2Slots) {
    this.slots = new AtomicReferenceArray<>(1 << log2Slots);
    this.mask = (1 << log2Slots) - 1;
    this.log2Slots = log2Slots;
  }

  /**
   * Whether nodes at {@code level} of a tree of {@code treeSize} leaves are worth caching: only
   * where the whole level fits in a quarter of the slots. Below that, random proofs would rarely
   * meet a cached node again, and each one put evicts a node of the tree's top, which every proof
   * needs; a miss costs a few cache-missing memory reads, as much as hashing the node again.
   */
  public boolean worthCaching(int level, long treeSize) {
    return (treeSize >>> level) <= (1L << (log2Slots - 2));
  }

  public byte[] get(int level, long index) {
    Entry e = slots.get(slot(level, index));
    return e != null && e.level == level && e.index == index ? e.hash : null;
  }

  public void put(int level, long index, byte[] hash) {
    slots.set(slot(level, index), new Entry(level, index, hash));
  }

  private int slot(int level, long index) {
    long h = (index * 0x9E3779B97F4A7C15L) ^ ((long) level * 0xC2B2AE3D27D4EB4FL);
    return (int) (h ^ (h >>> 29)) & mask;
  }
}
