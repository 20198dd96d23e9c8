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
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A small HTTP (or HTTPS) endpoint on Netty for the command line's services — the witness's {@code
 * /add-checkpoint}, the verification service — so that no client can hold a thread by sending
 * slowly: requests are read without blocking, each connection must deliver a whole request in time,
 * bodies are capped, and connections are capped per client address and in all ({@link
 * HttpConnections}). The routes' work (signature checks, registry and log calls, synced writes)
 * runs on worker threads beside the event loop.
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

  private final EventLoopGroup loop;
  private final EventExecutorGroup workers;
  private final Channel channel;

  private HttpEndpoint(EventLoopGroup loop, EventExecutorGroup workers, Channel channel) {
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
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    EventExecutorGroup workers = new DefaultEventExecutorGroup(workerThreads);
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
                        .addLast(workers, handler);
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
    workers.shutdownGracefully().awaitUninterruptibly();
  }

  @ChannelHandler.Sharable
  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Route route;

    Handler(Route route) {
      this.route = route;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      Reply r;
      if (!req.decoderResult().isSuccess()) {
        r = Reply.text(400, "malformed request\n");
      } else {
        r =
            route.handle(
                req.method().name(),
                new QueryStringDecoder(req.uri()).rawPath(),
                ByteBufUtil.getBytes(req.content()));
      }
      FullHttpResponse res =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.valueOf(r.status()),
              Unpooled.wrappedBuffer(r.body()));
      res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
      res.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
      if (r.status() == 405) res.headers().set(HttpHeaderNames.ALLOW, "POST");
      if (HttpUtil.isKeepAlive(req) && req.decoderResult().isSuccess()) {
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
