package dev.custody.server.tiles;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.server.explorer.Explorer;
import dev.custody.server.read.LogReader;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.HttpConnections;
import dev.custody.tiles.TilePath;
import dev.custody.tiles.Tiles;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
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
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
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
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The log, read-only, as C2SP tlog-tiles over HTTP: {@code /checkpoint}, {@code
 * /tile/<L>/<N>[.p/<W>]} and {@code /tile/entries/<N>[.p/<W>]}; {@code /metrics}; and the log
 * explorer's pages ({@link Explorer}) on every other path it knows. Everything comes from storage
 * and the published head; nothing here touches the sequencer. What exists for the published tree
 * size is served; a tile or bundle wider than that size allows is 404, as is every non-canonical
 * path.
 */
public final class TileServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(TileServer.class.getName());
  static final String IMMUTABLE = "public, max-age=31536000, immutable";

  /** Partial tiles never change, but a log may drop them once the full tile exists. */
  static final String PARTIAL = "public, max-age=3600";

  static final String CHECKPOINT = "no-cache, max-age=0";

  private final EventLoopGroup loop;
  private final EventExecutorGroup readers;
  private final Channel channel;

  private TileServer(EventLoopGroup loop, EventExecutorGroup readers, Channel channel) {
    this.loop = loop;
    this.readers = readers;
    this.channel = channel;
  }

  /**
   * @param tls HTTPS when present
   */
  public static TileServer start(
      String bindAddress,
      int port,
      java.util.Optional<io.netty.handler.ssl.SslContext> tls,
      LogReader reader,
      Supplier<Cosigning.Served> head,
      Supplier<String> metrics)
      throws InterruptedException {
    return start(bindAddress, port, tls, reader, head, metrics, HttpConnections.defaults(), null);
  }

  /**
   * @param connections the caps on connections and the time a request may take to arrive
   * @param explorer the explorer's pages, or null for tiles only
   */
  public static TileServer start(
      String bindAddress,
      int port,
      java.util.Optional<io.netty.handler.ssl.SslContext> tls,
      LogReader reader,
      Supplier<Cosigning.Served> head,
      Supplier<String> metrics,
      HttpConnections connections,
      Explorer explorer)
      throws InterruptedException {
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    // Storage reads block: they run beside the event loop, not on it.
    EventExecutorGroup readers = new DefaultEventExecutorGroup(2);
    Handler handler = new Handler(reader, head, metrics, explorer);
    Channel ch =
        new ServerBootstrap()
            .group(loop)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel c) {
                    tls.ifPresent(t -> c.pipeline().addLast(t.newHandler(c.alloc())));
                    c.pipeline()
                        .addLast(new HttpServerCodec(4096, 8192, 8192))
                        .addLast("aggregator", new HttpObjectAggregator(8192))
                        .addLast(new HttpContentCompressor())
                        .addLast(readers, handler);
                    connections.install(c.pipeline(), "aggregator");
                  }
                })
            .bind(new InetSocketAddress(bindAddress, port))
            .sync()
            .channel();
    return new TileServer(loop, readers, ch);
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
    loop.shutdownGracefully().awaitUninterruptibly();
    readers.shutdownGracefully().awaitUninterruptibly();
  }

  @io.netty.channel.ChannelHandler.Sharable
  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final LogReader reader;
    private final Supplier<Cosigning.Served> head;
    private final Supplier<String> metrics;
    private final Explorer explorer;

    Handler(
        LogReader reader,
        Supplier<Cosigning.Served> head,
        Supplier<String> metrics,
        Explorer explorer) {
      this.reader = reader;
      this.head = head;
      this.metrics = metrics;
      this.explorer = explorer;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      FullHttpResponse res;
      try {
        res = answer(ctx, req);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "serving " + req.uri() + " failed", e);
        res =
            text(
                HttpResponseStatus.SERVICE_UNAVAILABLE,
                "the log's storage failed; try again\n",
                CHECKPOINT);
      }
      boolean keepAlive = HttpUtil.isKeepAlive(req) && req.decoderResult().isSuccess();
      if (req.method().equals(HttpMethod.HEAD)) {
        long length = res.content().readableBytes();
        res = res.replace(Unpooled.EMPTY_BUFFER);
        res.headers().set(HttpHeaderNames.CONTENT_LENGTH, length);
      } else {
        res.headers().set(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
      }
      if (keepAlive) {
        res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        ctx.writeAndFlush(res);
      } else {
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
      }
    }

    private FullHttpResponse answer(ChannelHandlerContext ctx, FullHttpRequest req) {
      if (!req.decoderResult().isSuccess()) {
        // Too long a request line or headers, or not HTTP at all: say so rather than guess at a
        // path.
        return text(
            HttpResponseStatus.BAD_REQUEST,
            "malformed request: " + req.decoderResult().cause().getMessage() + "\n",
            CHECKPOINT);
      }
      QueryStringDecoder uri = new QueryStringDecoder(req.uri());
      String path = uri.rawPath();
      boolean post =
          req.method().equals(HttpMethod.POST) && explorer != null && Explorer.acceptsPost(path);
      if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD) && !post) {
        FullHttpResponse r =
            text(HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET and HEAD\n", CHECKPOINT);
        r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
        return r;
      }
      if (explorer != null
          && !path.equals("/checkpoint")
          && !path.equals("/metrics")
          && !path.startsWith("/tile/")) {
        String accept = req.headers().get(HttpHeaderNames.ACCEPT, "");
        Optional<Explorer.Response> page =
            explorer.handle(
                post ? "POST" : "GET",
                path,
                uri.parameters(),
                io.netty.buffer.ByteBufUtil.getBytes(req.content()),
                accept.contains("application/json") && !accept.contains("text/html"),
                ctx.channel().remoteAddress());
        if (page.isPresent()) {
          Explorer.Response p = page.get();
          FullHttpResponse r =
              new DefaultFullHttpResponse(
                  HttpVersion.HTTP_1_1,
                  HttpResponseStatus.valueOf(p.status()),
                  Unpooled.wrappedBuffer(p.body()));
          r.headers().set(HttpHeaderNames.CONTENT_TYPE, p.contentType());
          r.headers().set(HttpHeaderNames.CACHE_CONTROL, p.cacheControl());
          p.headers().forEach((k, v) -> r.headers().set(k, v));
          return r;
        }
      }
      Cosigning.Served served = head.get();
      SignedCheckpoint h = served.checkpoint();
      if (path.equals("/checkpoint")) {
        FullHttpResponse r = text(HttpResponseStatus.OK, served.note(), CHECKPOINT);
        r.headers().set("Custody-Witness-Cosignatures", served.cosignatures());
        r.headers().set("Custody-Witness-Quorum", served.quorum() ? "met" : "not met");
        return r;
      }
      if (path.equals("/metrics")) {
        FullHttpResponse r = text(HttpResponseStatus.OK, metrics.get(), CHECKPOINT);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
        return r;
      }
      Optional<TilePath> tp =
          path.startsWith("/") ? TilePath.parse(path.substring(1)) : Optional.empty();
      if (tp.isEmpty()) return text(HttpResponseStatus.NOT_FOUND, "not found\n", PARTIAL);
      TilePath t = tp.get();
      int available = Tiles.width(t.level(), t.index(), h.size());
      if (t.width() > available) {
        return text(
            HttpResponseStatus.NOT_FOUND,
            "no such tile at the current tree size " + h.size() + "\n",
            CHECKPOINT);
      }
      byte[] body =
          t.entries()
              ? reader.entryBundle(t.index(), t.width())
              : reader.tile(t.level(), t.index(), t.width());
      FullHttpResponse r =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
      r.headers().set(HttpHeaderNames.CACHE_CONTROL, t.partial() ? PARTIAL : IMMUTABLE);
      // Hashes do not compress; only entry bundles are worth the CPU.
      if (!t.entries())
        r.headers().set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.IDENTITY);
      return r;
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body, String cache) {
      FullHttpResponse r =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
      r.headers().set(HttpHeaderNames.CACHE_CONTROL, cache);
      return r;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
