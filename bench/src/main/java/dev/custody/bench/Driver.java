package dev.custody.bench;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToLongFunction;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives asynchronous calls for a fixed time, closed loop (a fixed number in flight) or open loop
 * (a fixed offered rate, each call timed from when it was due, so a stall is not hidden).
 */
final class Driver {
  /** Starts call number {@code n} and reports its end to {@code done} exactly once. */
  interface Call {
    void start(long n, Done done);
  }

  /**
   * @param tag on success, a value whose distinct count is reported (e.g. the checkpoint size:
   *     batches)
   */
  interface Done {
    void ok(long tag);

    void failed(Throwable t);
  }

  /**
   * The gRPC observer of one unary call that reports to {@code done}, tagging a success with {@code
   * tag}.
   */
  static <T> StreamObserver<T> observer(Done done, ToLongFunction<T> tag) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T answer) {
        done.ok(tag.applyAsLong(answer));
      }

      @Override
      public void onError(Throwable t) {
        done.failed(t);
      }

      @Override
      public void onCompleted() {}
    };
  }

  record Phase(double seconds, long ok, long errors, long exhausted, long tags, Histogram latency) {
    double perSecond() {
      return ok / seconds;
    }

    double ms(double percentile) {
      return latency.getValueAtPercentile(percentile) / 1e6;
    }
  }

  private final int inFlight;
  private final int rate;
  private long counter;

  /**
   * @param rate 0 for closed loop; otherwise calls offered per second (at most {@code inFlight}
   *     outstanding)
   */
  Driver(int inFlight, int rate) {
    this.inFlight = inFlight;
    this.rate = rate;
  }

  Phase run(int seconds, Call call) throws InterruptedException {
    Recorder rec = new Recorder(3);
    Semaphore permits = new Semaphore(inFlight);
    LongAdder ok = new LongAdder();
    LongAdder errors = new LongAdder();
    LongAdder exhausted = new LongAdder();
    Set<Long> tags = ConcurrentHashMap.newKeySet();
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    long sent = 0;
    while (System.nanoTime() < end) {
      long intended;
      if (rate > 0) {
        // Open loop: the k-th send is due at start + k / rate, answered or not.
        intended = start + (long) (sent * 1e9 / rate);
        long wait = intended - System.nanoTime();
        if (wait > 0) LockSupport.parkNanos(wait);
        sent++;
        if (!permits.tryAcquire()) { // more than inFlight outstanding: the server cannot keep up
          errors.increment();
          continue;
        }
      } else {
        if (!permits.tryAcquire(10, TimeUnit.MILLISECONDS)) continue;
        intended = System.nanoTime();
      }
      long t0 = intended;
      call.start(
          ++counter,
          new Done() {
            @Override
            public void ok(long tag) {
              rec.recordValue(System.nanoTime() - t0);
              tags.add(tag);
              ok.increment();
              permits.release();
            }

            @Override
            public void failed(Throwable t) {
              errors.increment();
              if (Status.fromThrowable(t).getCode() == Status.Code.RESOURCE_EXHAUSTED)
                exhausted.increment();
              permits.release();
            }
          });
    }
    permits.acquire(inFlight); // let the last ones land, so that every send is counted
    permits.release(inFlight);
    double secs = (System.nanoTime() - start) / 1e9;
    return new Phase(
        secs, ok.sum(), errors.sum(), exhausted.sum(), tags.size(), rec.getIntervalHistogram());
  }
}
