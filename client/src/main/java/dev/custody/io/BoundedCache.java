package dev.custody.io;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * A cache that cannot grow without bound: at most {@code maxEntries} entries and {@code maxBytes}
 * by the weigher's count, each for at most its time to live; the least recently used goes first.
 * For what a service keeps on behalf of callers it does not trust (tokens a realm chose, images a
 * registry served): a caller who makes it fill pushes out its own entries, never the heap.
 *
 * <p>Thread-safe (one lock; its work is a map operation).
 */
public final class BoundedCache<K, V> {
  private record Held<V>(V value, long bytes, long expiresAtNanos) {}

  private final int maxEntries;
  private final long maxBytes;
  private final ToLongFunction<V> weigher;
  private final LongSupplier nanoClock;
  private final LinkedHashMap<K, Held<V>> map = new LinkedHashMap<>(16, 0.75f, true);
  private long bytes;

  /**
   * @param weigher an entry's size in bytes (its key included, if that matters)
   * @param nanoClock {@code System::nanoTime}, or a test's clock
   */
  public BoundedCache(
      int maxEntries, long maxBytes, ToLongFunction<V> weigher, LongSupplier nanoClock) {
    if (maxEntries < 1 || maxBytes < 1)
      throw new IllegalArgumentException("a cache holds something");
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.weigher = weigher;
    this.nanoClock = nanoClock;
  }

  /** The value, if present and not expired. */
  public synchronized Optional<V> get(K key) {
    Held<V> h = map.get(key);
    if (h == null) return Optional.empty();
    if (nanoClock.getAsLong() - h.expiresAtNanos() >= 0) {
      remove(key);
      return Optional.empty();
    }
    return Optional.of(h.value());
  }

  /**
   * Keeps {@code value} for {@code ttlNanos}; one heavier than the whole cache is not kept. Evicts
   * the least recently used until both bounds hold.
   */
  public synchronized void put(K key, V value, long ttlNanos) {
    long w = Math.max(1, weigher.applyAsLong(value));
    remove(key);
    if (w > maxBytes) return;
    map.put(key, new Held<>(value, w, nanoClock.getAsLong() + ttlNanos));
    bytes += w;
    Iterator<Map.Entry<K, Held<V>>> it = map.entrySet().iterator();
    while ((map.size() > maxEntries || bytes > maxBytes) && it.hasNext()) {
      bytes -= it.next().getValue().bytes();
      it.remove();
    }
  }

  public synchronized void remove(K key) {
    Held<V> old = map.remove(key);
    if (old != null) bytes -= old.bytes();
  }

  public synchronized int size() {
    return map.size();
  }

  /** What the entries weigh together. */
  public synchronized long bytes() {
    return bytes;
  }
}
