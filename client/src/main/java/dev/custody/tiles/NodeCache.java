package dev.custody.tiles;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A bounded, lock-free cache of perfect Merkle nodes. Perfect nodes never change once they
 * exist, so a cached hash is never stale. Direct-mapped: a colliding node simply replaces the
 * one in its slot, which keeps reads and writes to one array access each.
 */
public final class NodeCache {
  private record Entry(int level, long index, byte[] hash) {}

  private final AtomicReferenceArray<Entry> slots;
  private final int mask;

  /** @param log2Slots the cache holds up to 2^log2Slots nodes (about 100 bytes each) */
  public NodeCache(int log2Slots) {
    this.slots = new AtomicReferenceArray<>(1 << log2Slots);
    this.mask = (1 << log2Slots) - 1;
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
