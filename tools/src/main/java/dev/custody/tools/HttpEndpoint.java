package dev.custody.tools;

import dev.custody.serving.HttpConnections;
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
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A small HTTP (or HTTPS) endpoint on Netty for the command line's services — the witness's {@code
 * /add-checkpoint}, the verification service — so that no client can hold a thread by sending
 * slowly: requests are read without blocking, each connection must deliver a whole request in time,
 * bodies are capped, and connections are capped per client address and in all ({@link
 * HttpConnections}). A {@link Route}'s work (signature checks, synced writes) runs on worker
 * threads beside the event loop; an {@link AsyncRoute} answers when its future completes, so a
 * route that waits on others (registries) holds no thread while it waits, and a cheap route
 * (health, metrics) answers on the event loop whatever the slow ones do. One request per connection
 * is handled at a time: responses leave in order, and a client cannot queue work by pipelining.
 */
final class HttpEndpoint implements AutoCloseable {
  /** What a route answers. */
  record Reply(int status, String contentType, byte[] body) {
    static Reply text(int status, String text) {
      return new Reply(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Answers one request; called on a worker thread, concurrently. */
  @FunctionalInterface
  interface Route {
    Reply handle(String method, String path, byte[] body);
  }

  /**
   * Answers one request when the future completes; called on the event loop, so it must not block:
   * it hands slow work to executors of its own.
   */
  @FunctionalInterface
  interface AsyncRoute {
    java.util.concurrent.CompletableFuture<Reply> handle(String method, String path, byte[] body);
  }

  private final EventLoopGroup loop;
  private final java.util.concurrent.ExecutorService workers;
  private final Channel channel;

  private HttpEndpoint(
      EventLoopGroup loop, java.util.concurrent.ExecutorService workers, Channel channel) {
    this.loop = loop;
    this.workers = workers;
    this.channel = channel;
  }

  /**
   * @param tls HTTPS with this context, or null for plain HTTP
   * @param workerThreads how many requests are handled at once (the rest wait on their connection)
   */
  static HttpEndpoint start(
      String host,
      int port,
      io.netty.handler.ssl.SslContext tls,
      int maxRequestBytes,
      int workerThreads,
      HttpConnections connections,
      Route route)
      throws InterruptedException {
    java.util.concurrent.ExecutorService workers =
        java.util.concurrent.Executors.newFixedThreadPool(
            workerThreads,
            r -> {
              Thread t = new Thread(r, "custody-http-worker");
              t.setDaemon(true);
              return t;
            });
    return start(
        host,
        port,
        tls,
        maxRequestBytes,
        connections,
        (m, p, b) ->
            java.util.concurrent.CompletableFuture.supplyAsync(
                () -> route.handle(m, p, b), workers),
        workers);
  }

  /**
   * @param tls HTTPS with this context, or null for plain HTTP
   * @param alsoStop stopped with the endpoint (the route's executor), or null
   */
  static HttpEndpoint start(
      String host,
      int port,
      io.netty.handler.ssl.SslContext tls,
      int maxRequestBytes,
      HttpConnections connections,
      AsyncRoute route,
      java.util.concurrent.ExecutorService alsoStop)
      throws InterruptedException {
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    java.util.concurrent.ExecutorService workers = alsoStop;
    Handler handler = new Handler(route);
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
                        .addLast("aggregator", new HttpObjectAggregator(maxRequestBytes))
                        .addLast(handler);
                    connections.install(c.pipeline(), "aggregator");
                  }
                })
            .bind(new InetSocketAddress(host, port))
            .sync()
            .channel();
    return new HttpEndpoint(loop, workers, ch);
  }

  /** {@code HOST:PORT} as the {@code --listen} options take it. */
  static HttpEndpoint start(
      String listen,
      io.netty.handler.ssl.SslContext tls,
      int maxRequestBytes,
      int workerThreads,
      Route route)
      throws InterruptedException {
    java.net.InetSocketAddress a;
    try {
      a = dev.custody.api.Nodes.hostPort(listen);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--listen: " + e.getMessage(), e);
    }
    return start(
        a.getHostString(),
        a.getPort(),
        tls,
        maxRequestBytes,
        workerThreads,
        HttpConnections.defaults(),
        route);
  }

  /**
   * Serves until the process is asked to stop (SIGTERM, SIGINT), then closes this endpoint and
   * {@code alsoClose}: the end of a long-running command.
   */
  void serveUntilShutdown(AutoCloseable alsoClose) throws InterruptedException {
    java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
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
                "custody-endpoint-shutdown"));
    stopped.await();
  }

  int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
    loop.shutdownGracefully().awaitUninterruptibly();
    if (workers != null) workers.shutdownNow();
  }

  @ChannelHandler.Sharable
  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final AsyncRoute route;

    Handler(AsyncRoute route) {
      this.route = route;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      boolean keepAlive = HttpUtil.isKeepAlive(req) && req.decoderResult().isSuccess();
      if (!req.decoderResult().isSuccess()) {
        respond(ctx, Reply.text(400, "malformed request\n"), false);
        return;
      }
      java.util.concurrent.CompletableFuture<Reply> answer;
      try {
        answer =
            route.handle(
                req.method().name(),
                new QueryStringDecoder(req.uri()).rawPath(),
                ByteBufUtil.getBytes(req.content()));
      } catch (RuntimeException e) {
        answer = java.util.concurrent.CompletableFuture.failedFuture(e);
      }
      // One request at a time on a connection: read no more until this one is answered.
      ctx.channel().config().setAutoRead(false);
      answer.whenComplete(
          (r, e) -> {
            Reply out = e != null ? Reply.text(500, "internal error\n") : r;
            ctx.executor()
                .execute(
                    () -> {
                      respond(ctx, out, keepAlive);
                      ctx.channel().config().setAutoRead(true);
                    });
          });
    }

    private static void respond(ChannelHandlerContext ctx, Reply r, boolean keepAlive) {
      FullHttpResponse res =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.valueOf(r.status()),
              Unpooled.wrappedBuffer(r.body()));
      res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
      res.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
      if (r.status() == 405) res.headers().set(HttpHeaderNames.ALLOW, "POST");
      if (keepAlive) {
        ctx.writeAndFlush(res);
      } else {
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A request over the size cap or a broken connection: answer if we can, then close.
      if (cause instanceof io.netty.handler.codec.TooLongFrameException) {
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
