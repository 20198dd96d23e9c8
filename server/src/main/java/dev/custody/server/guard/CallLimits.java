package dev.custody.server.guard;

import io.grpc.Attributes;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds what open calls can make the server hold, whoever opens them and on however many
 * connections: at most {@code perClient} calls open at once from one client (address, or /64 for
 * IPv6), of which at most {@code streamsPerClient} server-streaming calls (GetEntries, FindLinks),
 * and at most {@code streams} such streams open at once on the whole server. A stream that a client
 * never reads holds its flow-control window and the messages queued behind it (a few hundred KiB),
 * so these caps are what bound the server's memory against unread streams; {@code --client-rate}
 * counts calls, not what they hold. A call over a cap ends at once with RESOURCE_EXHAUSTED, before
 * any work.
 *
 * <p>It also counts each client's connections, as a {@link ServerTransportFilter} ({@link
 * #connections}): gRPC gives no hook to refuse a connection, so on a connection beyond {@code
 * connectionsPerClient} every call is refused, and the connection, holding nothing, is closed once
 * idle (the server's idle timeout).
 *
 * <p>Thread-safe; memory is one counter per client with calls or connections open.
 */
public final class CallLimits implements ServerInterceptor {
  /** Connections one client may hold, as on the HTTP ports. */
  public static final int CONNECTIONS_PER_CLIENT = 64;

  private static final Attributes.Key<Boolean> OVER_CAP = Attributes.Key.create("custody.over-cap");
  private static final Attributes.Key<String> CLIENT = Attributes.Key.create("custody.client");
  private final ConcurrentHashMap<String, AtomicInteger> connectionsOf = new ConcurrentHashMap<>();
  private final int connectionsPerClient;

  /** Calls one client may have open: room for a bulk submitter with a thousand in flight. */
  public static final int PER_CLIENT = 1024;

  /** Entry streams one client may have open. */
  public static final int STREAMS_PER_CLIENT = 32;

  /** Entry streams open on the server: about 60 MiB if every reader stalls. */
  public static final int STREAMS = 256;

  private final int perClient;
  private final int streamsPerClient;
  private final int streams;
  private final ConcurrentHashMap<String, AtomicInteger> open = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, AtomicInteger> openStreamsOf = new ConcurrentHashMap<>();
  private final AtomicInteger openStreams = new AtomicInteger();

  public CallLimits(int perClient, int streamsPerClient, int streams, int connectionsPerClient) {
    if (perClient < 1 || streamsPerClient < 1 || streams < 1 || connectionsPerClient < 1) {
      throw new IllegalArgumentException("call limits must be at least 1");
    }
    this.connectionsPerClient = connectionsPerClient;
    this.perClient = perClient;
    this.streamsPerClient = streamsPerClient;
    this.streams = streams;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String client =
        ClientBudgets.address(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    if (Boolean.TRUE.equals(call.getAttributes().get(OVER_CAP))) {
      return refuse(
          call,
          client
              + " has more than "
              + connectionsPerClient
              + " connections open, the most one client may; use fewer (each carries many calls)");
    }
    boolean streaming =
        call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.SERVER_STREAMING;
    if (increment(open, client) > perClient) {
      release(client, false);
      return refuse(
          call,
          client
              + " has "
              + perClient
              + " calls open, the most one client may; finish or cancel some");
    }
    if (streaming) {
      int mine = increment(openStreamsOf, client);
      int all = openStreams.incrementAndGet();
      if (mine > streamsPerClient || all > streams) {
        release(client, true);
        return refuse(
            call,
            mine > streamsPerClient
                ? client
                    + " has "
                    + streamsPerClient
                    + " entry streams open, the most one client may; read or cancel them"
                : "the server has "
                    + streams
                    + " entry streams open, the most it serves at once; retry later");
      }
    }
    ServerCall.Listener<Q> listener;
    try {
      listener = next.startCall(call, headers);
    } catch (RuntimeException e) {
      release(client, streaming);
      throw e;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      private boolean released;

      private void done() {
        synchronized (this) {
          if (released) return;
          released = true;
        }
        release(client, streaming);
      }

      @Override
      public void onComplete() {
        done();
        super.onComplete();
      }

      @Override
      public void onCancel() {
        done();
        super.onCancel();
      }
    };
  }

  private static int increment(ConcurrentHashMap<String, AtomicInteger> counts, String client) {
    return counts
        .compute(
            client,
            (k, v) -> {
              AtomicInteger c = v == null ? new AtomicInteger() : v;
              c.incrementAndGet();
              return c;
            })
        .get();
  }

  private static void decrement(ConcurrentHashMap<String, AtomicInteger> counts, String client) {
    counts.computeIfPresent(client, (k, v) -> v.decrementAndGet() <= 0 ? null : v);
  }

  private void release(String client, boolean stream) {
    if (stream) {
      openStreams.decrementAndGet();
      decrement(openStreamsOf, client);
    }
    decrement(open, client);
  }

  private static <Q> ServerCall.Listener<Q> refuse(ServerCall<Q, ?> call, String why) {
    call.close(Status.RESOURCE_EXHAUSTED.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /**
   * Counts connections per client and marks those beyond the cap; add it with addTransportFilter.
   */
  public ServerTransportFilter connections() {
    return new ServerTransportFilter() {
      @Override
      public Attributes transportReady(Attributes attrs) {
        String client = ClientBudgets.address(attrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        boolean over = increment(connectionsOf, client) > connectionsPerClient;
        return attrs.toBuilder().set(CLIENT, client).set(OVER_CAP, over).build();
      }

      @Override
      public void transportTerminated(Attributes attrs) {
        // gRPC passes null for a connection that ended before it was ready (never counted).
        String client = attrs == null ? null : attrs.get(CLIENT);
        if (client != null) decrement(connectionsOf, client);
      }
    };
  }

  /** Entry streams open now, on the whole server (a metric). */
  public int openStreams() {
    return openStreams.get();
  }
}
