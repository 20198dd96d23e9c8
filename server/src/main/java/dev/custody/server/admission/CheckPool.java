package dev.custody.server.admission;

import dev.custody.server.guard.StandingQueue;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.pushback.ShuttingDownException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Where submissions wait for their signature check: one thread per core, a queue with a hard cap,
 * and the {@link StandingQueue} rule deciding when waiting has become overload. A task is either
 * run or refused, exactly once, with {@link OverloadedException} (the log is behind) or {@link
 * ShuttingDownException} (the log is shutting down); never both, never neither.
 *
 * <p>Memory: at most {@code capacity} queued tasks; callers check an entry's size before queueing
 * it, so the queue's bytes are bounded too.
 */
public final class CheckPool implements AutoCloseable {
  private final BlockingQueue<Runnable> queue;
  private final ThreadPoolExecutor executor;
  private final StandingQueue standing;

  public CheckPool(int threads, int capacity, StandingQueue.Rule rule) {
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.standing = new StandingQueue(rule);
    this.executor =
        new ThreadPoolExecutor(
            threads,
            threads,
            0,
            TimeUnit.SECONDS,
            queue,
            r -> {
              Thread t = new Thread(r, "custody-checks");
              t.setDaemon(true);
              return t;
            });
    executor
        .prestartAllCoreThreads(); // so that every task passes through the queue, and its wait is
    // seen
  }

  private final class Timed implements Runnable {
    final long queuedAt;
    final Runnable task;
    final Consumer<RuntimeException> refused;

    Timed(long queuedAt, Runnable task, Consumer<RuntimeException> refused) {
      this.queuedAt = queuedAt;
      this.task = task;
      this.refused = refused;
    }

    @Override
    public void run() {
      long now = System.nanoTime();
      long waited = now - queuedAt;
      if (standing.leave(waited, now)) {
        task.run();
      } else {
        refused.accept(
            new OverloadedException(
                "the log is behind checking signatures (this one waited "
                    + TimeUnit.NANOSECONDS.toMillis(waited)
                    + " ms while the queue stood above "
                    + standing.targetMillis()
                    + " ms); retry with backoff"));
      }
    }
  }

  /** Runs {@code task} on a check thread, or hands {@code refused} the reason it will not run. */
  public void execute(Runnable task, Consumer<RuntimeException> refused) {
    long now = System.nanoTime();
    Runnable head = queue.peek();
    long oldest = head instanceof Timed t ? Math.max(0, now - t.queuedAt) : StandingQueue.EMPTY;
    if (!standing.admits(oldest)) {
      refused.accept(
          new OverloadedException(
              "the log is behind checking signatures: its queue has stayed above "
                  + standing.targetMillis()
                  + " ms of waiting; retry with backoff"));
      return;
    }
    try {
      executor.execute(new Timed(now, task, refused));
    } catch (RejectedExecutionException e) {
      refused.accept(
          executor.isShutdown()
              ? new ShuttingDownException("the log is shutting down")
              : new OverloadedException(
                  "the log is busy: "
                      + queue.size()
                      + " submissions are waiting for a signature check; retry with backoff"));
    }
  }

  /** Submissions waiting for a check now. */
  public int queued() {
    return queue.size();
  }

  /** Stops taking tasks; those queued still run or are refused as usual. */
  @Override
  public void close() {
    executor.shutdown();
  }

  /** Stops at once: queued tasks are refused, not run. */
  public void closeNow() {
    for (Runnable r : executor.shutdownNow()) {
      if (r instanceof Timed t)
        t.refused.accept(new ShuttingDownException("the log is shutting down"));
    }
  }
}
