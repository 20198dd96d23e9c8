package dev.custody.server.guard;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Bounds every call's life: a client's deadline is kept when it is shorter, otherwise the call
 * ends with DEADLINE_EXCEEDED after the server's maximum, so that a stalled reader of a stream or
 * a client that never half-closes cannot hold the server's resources for ever.
 */
public final class CallDeadlines implements ServerInterceptor {
  private final long maxNanos;
  private final ScheduledExecutorService timer;

  public CallDeadlines(int maxSeconds, ScheduledExecutorService timer) {
    this.maxNanos = TimeUnit.SECONDS.toNanos(maxSeconds);
    this.timer = timer;
  }

  @Override public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Deadline max = Deadline.after(maxNanos, TimeUnit.NANOSECONDS);
    Deadline own = Context.current().getDeadline();
    if (own != null && own.isBefore(max)) return next.startCall(call, headers);
    Context.CancellableContext ctx = Context.current().withDeadline(max, timer);
    ctx.addListener(c -> {
      if (c.cancellationCause() != null && max.isExpired() && !call.isCancelled()) {
        try {
          call.close(Status.DEADLINE_EXCEEDED.withDescription("the call took longer than the server allows ("
              + TimeUnit.NANOSECONDS.toSeconds(maxNanos) + " s)"), new Metadata());
        } catch (IllegalStateException alreadyClosed) {
          // it finished just in time
        }
      }
    }, Runnable::run);
    ServerCall.Listener<Q> inner = Contexts.interceptCall(ctx, call, headers, next);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(inner) {
      @Override public void onComplete() {
        try {
          super.onComplete();
        } finally {
          ctx.cancel(null); // frees the timer
        }
      }

      @Override public void onCancel() {
        try {
          super.onCancel();
        } finally {
          ctx.cancel(null);
        }
      }
    };
  }
}
