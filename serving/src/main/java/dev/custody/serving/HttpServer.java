package dev.custody.serving;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one HTTP (or HTTPS) server of every port Custody opens for HTTP — the log's tiles, explorer
 * and metrics, the witness, the verification service — serving a {@link Routes} table on Netty.
 *
 * <p>Guarantees against hostile clients: requests are read without blocking a thread; each
 * connection must deliver a whole request in time and connections are capped per client address and
 * in all ({@link HttpConnections}); a request line is at most 4 KiB, headers at most 8 KiB, a body
 * at most {@link Builder#maxRequestBytes}; one request per connection is handled at a time, so
 * responses leave in order and a client cannot queue work by pipelining. A cheap async route
 * (health, metrics) answers on the event loop whatever the blocking routes are doing.
 */
public final class HttpServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(HttpServer.class.getName());

  private final EventLoopGroup loop;
  private final ExecutorService workers;
  private final Channel channel;
  private final String name;

  private HttpServer(EventLoopGroup loop, ExecutorService workers, Channel channel, String name) {
    this.loop = loop;
    this.workers = workers;
    this.channel = channel;
    this.name = name;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Every setting of a port, each default here. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port = 0;
    private SslContext tls;
    private int maxRequestBytes = 8192;
    private int workerThreads = Math.max(2, Runtime.getRuntime().availableProcessors());
    private boolean compress;
    private HttpConnections connections = HttpConnections.defaults();
    private String name = "custody-http";
    private Function<RuntimeException, HttpResponse> onFailure =
        e -> HttpResponse.text(500, "internal error\n");

    private Builder() {}

    /** Where to listen; default 127.0.0.1 and a free port (0). */
    public Builder listen(String host, int port) {
      this.host = host;
      this.port = port;
      return this;
    }

    /** HTTPS with this context; default plain HTTP (null). */
    public Builder tls(SslContext tls) {
      this.tls = tls;
      return this;
    }

    /** The largest request body; default 8 KiB. A larger one is refused before it is read. */
    public Builder maxRequestBytes(int bytes) {
      this.maxRequestBytes = bytes;
      return this;
    }

    /** How many blocking handlers run at once; default the cores, at least 2. */
    public Builder workerThreads(int n) {
      this.workerThreads = n;
      return this;
    }

    /** gzip answers for clients that accept it (a route can opt out with identity); default off. */
    public Builder compress(boolean on) {
      this.compress = on;
      return this;
    }

    public Builder connections(HttpConnections c) {
      this.connections = c;
      return this;
    }

    /** The worker threads' name, as thread dumps show it; default "custody-http". */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    /**
     * The answer when a handler throws (logged here first); default 500 "internal error". A port
     * over storage says 503 and "try again".
     */
    public Builder onFailure(Function<RuntimeException, HttpResponse> answer) {
      this.onFailure = answer;
      return this;
    }

    /** Binds the port and serves {@code routes} until {@link HttpServer#close}. */
    public HttpServer start(Routes routes) throws InterruptedException {
      EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
      ExecutorService workers =
          Executors.newFixedThreadPool(workerThreads, Daemons.named(name + "-worker"));
      Handler handler = new Handler(routes, workers, onFailure);
      SslContext tls = this.tls;
      int maxBody = maxRequestBytes;
      boolean gzip = compress;
      HttpConnections caps = connections;
      try {
        Channel ch =
            new ServerBootstrap()
                .group(loop)
                .channel(NioServerSocketChannel.class)
                .childHandler(
                    new ChannelInitializer<SocketChannel>() {
                      @Override
                      protected void initChannel(SocketChannel c) {
                        if (tls != null) c.pipeline().addLast(tls.newHandler(c.alloc()));
                        c.pipeline()
                            .addLast(new HttpServerCodec(4096, 8192, 8192))
                            .addLast("aggregator", new HttpObjectAggregator(maxBody));
                        if (gzip) c.pipeline().addLast(new HttpContentCompressor());
                        c.pipeline().addLast(handler);
                        caps.install(c.pipeline(), "aggregator");
                      }
                    })
                .bind(new InetSocketAddress(host, port))
                .sync()
                .channel();
        return new HttpServer(loop, workers, ch, name);
      } catch (InterruptedException | RuntimeException e) {
        loop.shutdownGracefully();
        workers.shutdownNow();
        throw e;
      }
    }
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  /**
   * Serves until the process is asked to stop (SIGTERM, SIGINT), then closes this server and {@code
   * alsoClose}: the end of a long-running command.
   */
  public void serveUntilShutdown(AutoCloseable alsoClose) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  close();
                  try {
                    alsoClose.close();
                  } catch (Exception ignored) {
                    // the process is ending
                  }
                  stopped.countDown();
                },
                name + "-shutdown"));
    stopped.await();
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
    loop.shutdownGracefully().awaitUninterruptibly();
    workers.shutdownNow();
  }

  /** Requests one read decoded beyond the one being answered; more closes the connection. */
  static final int MAX_PIPELINED = 16;

  private static final AttributeKey<Deque<Pending>> QUEUE = AttributeKey.valueOf("custody.queue");

  /** A request waiting its turn, or an answer fixed in advance ({@code fixed}: a bad request). */
  private record Pending(
      HttpRequest request, HttpResponse fixed, boolean keepAlive, boolean head) {}

  @ChannelHandler.Sharable
  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Routes routes;
    private final ExecutorService workers;
    private final Function<RuntimeException, HttpResponse> onFailure;

    Handler(
        Routes routes,
        ExecutorService workers,
        Function<RuntimeException, HttpResponse> onFailure) {
      this.routes = routes;
      this.workers = workers;
      this.onFailure = onFailure;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      boolean head = req.method().name().equals("HEAD");
      Pending p;
      if (!req.decoderResult().isSuccess()) {
        // Too long a request line or headers, or not HTTP at all: say so rather than guess.
        String why = "malformed request: " + req.decoderResult().cause().getMessage() + "\n";
        p = new Pending(null, HttpResponse.text(400, why), false, head);
      } else {
        QueryStringDecoder uri = new QueryStringDecoder(req.uri());
        HttpRequest request =
            new HttpRequest(
                req.method().name(),
                uri.rawPath(),
                uri.parameters(),
                req.headers().get(HttpHeaderNames.ACCEPT, ""),
                req.headers().get(HttpHeaderNames.IF_NONE_MATCH, ""),
                ByteBufUtil.getBytes(req.content()),
                ctx.channel().remoteAddress());
        p = new Pending(request, null, HttpUtil.isKeepAlive(req), head);
      }
      // One request at a time on a connection: read no more until this one is answered. What
      // one read already decoded (pipelined requests) waits its turn here, a few at most.
      ctx.channel().config().setAutoRead(false);
      Deque<Pending> queue = ctx.channel().attr(QUEUE).setIfAbsent(new ArrayDeque<>());
      if (queue == null) queue = ctx.channel().attr(QUEUE).get();
      queue.add(p);
      if (queue.size() > MAX_PIPELINED) {
        ctx.close();
      } else if (queue.size() == 1) {
        serveNext(ctx, queue);
      }
    }

    /** Answers the request at the head of {@code queue}, then the next; on the event loop. */
    private void serveNext(ChannelHandlerContext ctx, Deque<Pending> queue) {
      Pending p = queue.peek();
      CompletableFuture<HttpResponse> answer =
          p.fixed() != null
              ? CompletableFuture.completedFuture(p.fixed())
              : routes.answer(p.request(), workers);
      answer.whenComplete(
          (r, e) -> {
            HttpResponse out = e == null ? r : failed(p.request(), e);
            ctx.executor()
                .execute(
                    () -> {
                      respond(ctx, out, p.keepAlive(), p.head());
                      queue.poll();
                      if (!p.keepAlive()) {
                        queue.clear(); // the connection closes after this answer
                      } else if (!queue.isEmpty()) {
                        serveNext(ctx, queue);
                      } else {
                        ctx.channel().config().setAutoRead(true);
                      }
                    });
          });
    }

    private HttpResponse failed(HttpRequest request, Throwable e) {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      LOG.log(
          Level.WARNING, "serving " + request.method() + " " + request.path() + " failed", cause);
      return onFailure.apply(
          cause instanceof RuntimeException re ? re : new IllegalStateException(cause));
    }

    private static void respond(
        ChannelHandlerContext ctx, HttpResponse r, boolean keepAlive, boolean head) {
      boolean notModified = r.status() == 304;
      FullHttpResponse res =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.valueOf(r.status()),
              head || notModified ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(r.body()));
      // A 304 has no content, and no Content-Length unless it is the 200's (RFC 9110 §8.6).
      if (!notModified) res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
      for (Map.Entry<String, String> h : r.headers().entrySet())
        res.headers().set(h.getKey(), h.getValue());
      if (!notModified) res.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
      if (keepAlive) {
        res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        ctx.writeAndFlush(res);
      } else {
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A request over a size cap or a broken connection: answer if we can, then close.
      if (cause instanceof TooLongFrameException) {
        FullHttpResponse res =
            new DefaultFullHttpResponse(
                HttpVersion.HTTP_1_1,
                HttpResponseStatus.BAD_REQUEST,
                Unpooled.copiedBuffer("request too large\n", StandardCharsets.UTF_8));
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.close();
      }
    }
  }
}
