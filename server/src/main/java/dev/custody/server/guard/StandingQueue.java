package dev.custody.server.guard;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * When a queue should push back: CoDel's rule (Nichols and Jacobson, "Controlling Queue Delay", ACM
 * Queue 2012) for a queue of calls. A queue is <em>standing</em> — the log is really behind, not
 * just catching up — once every item that left it over a whole {@code interval} had waited at least
 * {@code target}. A burst that drains within the interval, a cold start or a GC pause makes a queue
 * that is long for a moment and then empties: none of them is refused. A sustained overload keeps
 * the queue above target and is refused one interval after it began.
 *
 * <p>While the queue stands, arrivals are refused whenever the oldest waiting item has waited past
 * the target (so admitted calls wait about {@code target}, and the queue holds only that much
 * time), and items that waited past twice the target are refused as they leave (what had piled up
 * before the rule tripped is not served late). The queue stops standing when an item leaves having
 * waited less than the target, or when it is found empty: both say the log caught up.
 *
 * <p>Thread-safe: any number of submitting threads and consumers may call it; it holds no items,
 * only a few numbers, so its memory is constant. Times are {@link System#nanoTime()} readings.
 */
public final class StandingQueue {
  /**
   * The rule's two numbers.
   *
   * @param targetMillis the wait a healthy queue stays under (CoDel's target)
   * @param intervalMillis how long the wait must stay above target before arrivals are refused
   */
  public record Rule(int targetMillis, int intervalMillis) {
    /**
     * 50 ms of wait, for half a second: about three times a signature check's worst GC pause here.
     */
    public static final Rule DEFAULT = new Rule(50, 500);

    public Rule {
      if (targetMillis < 1)
        throw new IllegalArgumentException("the queue's target wait must be at least 1 ms");
      if (intervalMillis < targetMillis) {
        throw new IllegalArgumentException("the queue's interval must be at least its target wait");
      }
    }
  }

  /** What {@link #admits} is given for a queue with nothing in it. */
  public static final long EMPTY = -1;

  private static final long NEVER = Long.MIN_VALUE;

  private final long target;
  private final long interval;

  /**
   * When the current run of above-target departures began; NEVER when the last one was below
   * target.
   */
  private long aboveSince = NEVER;

  private volatile boolean standing;

  public StandingQueue(Rule rule) {
    this.target = TimeUnit.MILLISECONDS.toNanos(rule.targetMillis());
    this.interval = TimeUnit.MILLISECONDS.toNanos(rule.intervalMillis());
  }

  /**
   * An item leaves the queue to be served, having waited {@code waitedNanos}.
   *
   * @return false when it should be refused instead: the queue stands and this one waited too long
   */
  public synchronized boolean leave(long waitedNanos, long now) {
    if (waitedNanos < target) {
      aboveSince = NEVER;
      standing = false;
      return true;
    }
    if (aboveSince == NEVER) {
      aboveSince = now;
    } else if (now - aboveSince >= interval) {
      standing = true;
    }
    return !standing || waitedNanos < 2 * target;
  }

  /**
   * Lets every item of a batch taken from the queue {@link #leave} it, and takes out of the batch
   * those refused, with every other item of a group one of them belongs to: a group is served whole
   * or not at all.
   *
   * @param queuedAt when an item was queued ({@link System#nanoTime})
   * @param group an item's group (compared by identity), or null for an item alone
   * @param refuse told of each item taken out, with a message for its submitter
   */
  public <T> void leaveInGroups(
      List<T> batch,
      ToLongFunction<T> queuedAt,
      Function<T, Object> group,
      long now,
      BiConsumer<T, String> refuse) {
    Set<T> stale = new HashSet<>();
    Set<Object> staleGroups = new HashSet<>();
    for (T p : batch) {
      if (leave(now - queuedAt.applyAsLong(p), now)) continue;
      stale.add(p);
      if (group.apply(p) != null) staleGroups.add(group.apply(p));
    }
    if (stale.isEmpty()) return;
    batch.removeIf(
        p -> {
          Object g = group.apply(p);
          if (!stale.contains(p) && (g == null || !staleGroups.contains(g))) return false;
          refuse.accept(
              p,
              "the log is behind: this submission waited "
                  + TimeUnit.NANOSECONDS.toMillis(now - queuedAt.applyAsLong(p))
                  + " ms in its queue"
                  + (g == null ? "" : " (or another of its group did)")
                  + "; retry with backoff");
          return true;
        });
  }

  /**
   * Whether a new arrival may join the queue.
   *
   * @param oldestWaitNanos how long the oldest item now in the queue has waited; {@link #EMPTY}
   *     when none is
   */
  public boolean admits(long oldestWaitNanos) {
    if (!standing) return true;
    if (oldestWaitNanos == EMPTY) {
      synchronized (this) { // empty: caught up, whatever the last departure said
        standing = false;
        aboveSince = NEVER;
      }
      return true;
    }
    return oldestWaitNanos < target;
  }

  /** Whether arrivals are being refused now (for metrics and messages). */
  public boolean standing() {
    return standing;
  }

  /** The rule's target wait, in milliseconds, for messages. */
  public long targetMillis() {
    return TimeUnit.NANOSECONDS.toMillis(target);
  }
}
