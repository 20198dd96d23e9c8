package dev.custody.serving;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AttributeKey;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Bounds what idle or slow clients of an HTTP port hold: at most {@code perClient} connections from
 * one address (a /64 for IPv6) and {@code total} in all, and each connection must deliver a whole
 * request within {@code requestMillis} of opening or of its previous answer — a client that sends
 * half a request line, drips a header a byte at a time or keeps an idle connection is closed then.
 * Over a cap, a new connection is closed at once, before any byte is read.
 *
 * <p>One instance per server; {@link #install} adds its handlers first in each new connection's
 * pipeline. Thread-safe.
 */
public final class HttpConnections {
  /** Connections one client may hold open. */
  public static final int PER_CLIENT = 64;

  /** Connections open on one port in all. */
  public static final int TOTAL = 4096;

  /** Time to deliver a whole request, from the connection's start or the last answer. */
  public static final long REQUEST_MILLIS = 10_000;

  private static final AttributeKey<String> CLIENT = AttributeKey.valueOf("custody.client");

  private final int perClient;
  private final int total;
  private final long requestMillis;
  private final ConcurrentHashMap<String, AtomicInteger> open = new ConcurrentHashMap<>();
  private final AtomicInteger all = new AtomicInteger();
  private final Cap cap = new Cap();

  public HttpConnections(int perClient, int total, long requestMillis) {
    this.perClient = perClient;
    this.total = total;
    this.requestMillis = requestMillis;
  }

  public static HttpConnections defaults() {
    return new HttpConnections(PER_CLIENT, TOTAL, REQUEST_MILLIS);
  }

  /**
   * Adds the connection cap first, and the request deadline after the handler that makes whole
   * requests.
   */
  public void install(ChannelPipeline p, String afterAggregator) {
    p.addFirst("custody-connection-cap", cap);
    p.addAfter(afterAggregator, "custody-request-deadline", new RequestDeadline(requestMillis));
  }

  /** Connections open now from one address (for tests and metrics). */
  public int open(String client) {
    AtomicInteger n = open.get(client);
    return n == null ? 0 : n.get();
  }

  public int openInAll() {
    return all.get();
  }

  @ChannelHandler.Sharable
  private final class Cap extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      String client = ClientAddress.of(ctx.channel().remoteAddress());
      int mine =
          open.compute(
                  client,
                  (k, v) -> {
                    AtomicInteger c = v == null ? new AtomicInteger() : v;
                    c.incrementAndGet();
                    return c;
                  })
              .get();
      int everyone = all.incrementAndGet();
      ctx.channel().attr(CLIENT).set(client);
      if (mine > perClient || everyone > total) {
        ctx.close(); // channelInactive gives the counts back
        return;
      }
      super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      String client = ctx.channel().attr(CLIENT).getAndSet(null);
      if (client != null) {
        all.decrementAndGet();
        open.computeIfPresent(client, (k, v) -> v.decrementAndGet() <= 0 ? null : v);
      }
      super.channelInactive(ctx);
    }
  }

  /** Closes a connection that has not delivered a whole request in time. One per connection. */
  private static final class RequestDeadline extends ChannelDuplexHandler {
    private final long millis;
    private ScheduledFuture<?> timer;

    RequestDeadline(long millis) {
      this.millis = millis;
    }

    private void arm(ChannelHandlerContext ctx) {
      disarm();
      timer =
          ctx.executor()
              .schedule(
                  () -> {
                    ctx.close();
                  },
                  millis,
                  TimeUnit.MILLISECONDS);
    }

    private void disarm() {
      if (timer != null) timer.cancel(false);
      timer = null;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (ctx.channel().isActive()) arm(ctx);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      arm(ctx);
      super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      if (msg instanceof FullHttpRequest) disarm(); // a whole request: the answer is ours to give
      super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
        throws Exception {
      if (msg instanceof HttpResponse) {
        // The next request must come in time too: keep-alive is not a licence to idle.
        promise.addListener(
            f ->
                ctx.executor()
                    .execute(
                        () -> {
                          if (ctx.channel().isActive()) arm(ctx);
                        }));
      }
      super.write(ctx, msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      disarm();
      super.channelInactive(ctx);
    }
  }
}
