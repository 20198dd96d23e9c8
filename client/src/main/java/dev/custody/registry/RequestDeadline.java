package dev.custody.registry;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * The deadline of a caller's whole request on this thread ({@link RegistryClient#within}): every
 * exchange, retry, redirect and token request inside it has what is left. Without one, each
 * exchange has the client's own per-exchange deadline. Thread-safe (per thread).
 */
final class RequestDeadline {
  private final Duration perExchange;
  private final ThreadLocal<Long> until = new ThreadLocal<>(); // System.nanoTime()

  RequestDeadline(Duration perExchange) {
    this.perExchange = perExchange;
  }

  /** Runs {@code work} with a deadline of {@code budget} from now (or the outer one, if sooner). */
  <T> T within(Duration budget, Callable<T> work) throws IOException {
    Long outer = until.get();
    long mine = System.nanoTime() + budget.toNanos();
    until.set(outer == null ? mine : Math.min(outer, mine));
    try {
      return work.call();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e.getMessage(), e);
    } finally {
      if (outer == null) until.remove();
      else until.set(outer);
    }
  }

  /**
   * The time one exchange may take now: the per-exchange deadline, or what is left of this thread's
   * request if less.
   *
   * @throws RegistryException.DeadlineExceeded the request's deadline has passed
   */
  Duration remaining(String doing) throws RegistryException.DeadlineExceeded {
    Long u = until.get();
    if (u == null) return perExchange;
    long left = u - System.nanoTime();
    if (left <= 0)
      throw new RegistryException.DeadlineExceeded("the request's deadline passed " + doing);
    return Duration.ofNanos(Math.min(left, perExchange.toNanos()));
  }

  /** True when this thread's request has a deadline and it has passed. */
  boolean passed() {
    Long u = until.get();
    return u != null && u - System.nanoTime() <= 0;
  }

  /** Sleeps {@code d}, unless that would outlast this thread's deadline: then it throws at once. */
  void sleep(Duration d) throws IOException {
    Long u = until.get();
    if (u != null && u - System.nanoTime() < d.toNanos())
      throw new RegistryException.DeadlineExceeded("a retry would outlast the request's deadline");
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
