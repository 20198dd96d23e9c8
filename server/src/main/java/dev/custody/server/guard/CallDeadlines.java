package dev.custody.server.guard;

import io.grpc.Context;
import io.grpc.Deadline;
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
 * Bounds every call's life: a client's own deadline, when shorter, is enforced by gRPC itself;
 * any other call is ended with DEADLINE_EXCEEDED once it has lived the server's maximum, so that a
 * stalled reader of a stream or a client that never half-closes cannot hold resources for ever.
 * One sweep a quarter second closes the overdue calls: a per-call timer would cost every call a
 * scheduling and a cancellation, and the cap need not be precise to the millisecond.
 */
public final class CallDeadlines implements ServerInterceptor {
  private static final long SWEEP_MILLIS = 250;

  private final long maxNanos;
  private final Map<ServerCall<?, ?>, Long> open = new ConcurrentHashMap<>(); // call -> when it must end

  public CallDeadlines(int maxSeconds, ScheduledExecutorService timer) {
    this.maxNanos = TimeUnit.SECONDS.toNanos(maxSeconds);
    timer.scheduleWithFixedDelay(this::sweep, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
  }

  private void sweep() {
    long now = System.nanoTime();
    open.forEach((call, due) -> {
      if (now - due < 0 || open.remove(call) == null) return;
      try {
        call.close(Status.DEADLINE_EXCEEDED.withDescription("the call took longer than the server allows ("
            + TimeUnit.NANOSECONDS.toSeconds(maxNanos) + " s)"), new Metadata());
      } catch (IllegalStateException finishedMeanwhile) {
        // it ended just as it became overdue
      }
    });
  }

  @Override public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Deadline own = Context.current().getDeadline();
    if (own != null && own.timeRemaining(TimeUnit.NANOSECONDS) <= maxNanos) return next.startCall(call, headers);
    open.put(call, System.nanoTime() + maxNanos);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
      @Override public void onComplete() {
        open.remove(call);
        super.onComplete();
      }

      @Override public void onCancel() {
        open.remove(call);
        super.onCancel();
      }
    };
  }
}
