package dev.custody.server.guard;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Bounds every call's life: a client's own deadline, when shorter, is enforced by gRPC itself; any
 * other call is ended with DEADLINE_EXCEEDED once it has lived the server's maximum, so that a
 * stalled reader of a stream or a client that never half-closes cannot hold resources for ever. One
 * sweep a quarter second closes the overdue calls: a per-call timer would cost every call a
 * scheduling and a cancellation, and the cap need not be precise to the millisecond.
 *
 * <p>A {@link ServerCall} is not thread-safe, and the sweeper closes calls that a worker may be
 * writing to at that moment; so every call it may close is wrapped in {@link Serialized}, which
 * orders writes and the close under one lock and drops whatever the application sends after it.
 */
public final class CallDeadlines implements ServerInterceptor {
  private static final long SWEEP_MILLIS = 250;

  private final long maxNanos;
  private final Map<Serialized<?, ?>, Long> open =
      new ConcurrentHashMap<>(); // call -> when it must end

  /**
   * A call whose writes and close are ordered under one lock; after the close, writes are dropped.
   */
  static final class Serialized<Q, R>
      extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private boolean closed;

    Serialized(ServerCall<Q, R> call) {
      super(call);
    }

    @Override
    public synchronized void sendHeaders(Metadata headers) {
      if (!closed) super.sendHeaders(headers);
    }

    @Override
    public synchronized void sendMessage(R message) {
      if (!closed) super.sendMessage(message);
    }

    @Override
    public synchronized boolean isReady() {
      return !closed && super.isReady();
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (closed) return;
      closed = true;
      super.close(status, trailers);
    }

    /** Closes unless the application closed first. */
    synchronized void closeOnce(Status status) {
      close(status, new Metadata());
    }
  }

  public CallDeadlines(int maxSeconds, ScheduledExecutorService timer) {
    this.maxNanos = TimeUnit.SECONDS.toNanos(maxSeconds);
    timer.scheduleWithFixedDelay(this::sweep, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
  }

  private void sweep() {
    long now = System.nanoTime();
    open.forEach(
        (call, due) -> {
          if (now - due < 0 || open.remove(call) == null) return;
          call.closeOnce(
              Status.DEADLINE_EXCEEDED.withDescription(
                  "the call took longer than the server allows ("
                      + TimeUnit.NANOSECONDS.toSeconds(maxNanos)
                      + " s)"));
        });
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Deadline own = Context.current().getDeadline();
    if (own != null && own.timeRemaining(TimeUnit.NANOSECONDS) <= maxNanos)
      return next.startCall(call, headers);
    Serialized<Q, R> guarded = new Serialized<>(call);
    open.put(guarded, System.nanoTime() + maxNanos);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
        next.startCall(guarded, headers)) {
      @Override
      public void onComplete() {
        open.remove(guarded);
        super.onComplete();
      }

      @Override
      public void onCancel() {
        open.remove(guarded);
        super.onCancel();
      }
    };
  }
}
