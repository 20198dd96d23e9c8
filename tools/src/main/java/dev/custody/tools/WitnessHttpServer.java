package dev.custody.tools;

import dev.custody.serving.HttpConnections;
import dev.custody.witness.Witness;
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

/**
 * The witness's HTTP endpoint (C2SP tlog-witness: {@code POST /add-checkpoint}) on Netty, so that
 * no client can hold a thread by sending slowly: requests are read without blocking, each
 * connection must deliver a whole request in time, and connections are capped per client address
 * and in all ({@link HttpConnections}). Cosigning (a signature check, a consistency proof, a
 * synced state write) runs beside the event loop.
 */
final class WitnessHttpServer implements AutoCloseable {
  private final EventLoopGroup loop;
  private final EventExecutorGroup workers;
  private final Channel channel;

  private WitnessHttpServer(EventLoopGroup loop, EventExecutorGroup workers, Channel channel) {
    this.loop = loop;
    this.workers = workers;
    this.channel = channel;
  }

  static WitnessHttpServer start(String host, int port, Witness witness, HttpConnections connections)
      throws InterruptedException {
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    EventExecutorGroup workers = new DefaultEventExecutorGroup(4);
    Handler handler = new Handler(witness);
    Channel ch = new ServerBootstrap()
        .group(loop)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override protected void initChannel(SocketChannel c) {
            c.pipeline()
                .addLast(new HttpServerCodec(4096, 8192, 8192))
                .addLast("aggregator", new HttpObjectAggregator(Witness.MAX_REQUEST_BYTES))
                .addLast(workers, handler);
            connections.install(c.pipeline(), "aggregator");
          }
        })
        .bind(new InetSocketAddress(host, port)).sync().channel();
    return new WitnessHttpServer(loop, workers, ch);
  }

  int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override public void close() {
    channel.close().awaitUninterruptibly();
    loop.shutdownGracefully().awaitUninterruptibly();
    workers.shutdownGracefully().awaitUninterruptibly();
  }

  @ChannelHandler.Sharable
  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Witness witness;

    Handler(Witness witness) {
      this.witness = witness;
    }

    @Override protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      Witness.Response r;
      String allow = null;
      if (!req.decoderResult().isSuccess()) {
        r = Witness.Response.text(400, "malformed request\n");
      } else if (!new QueryStringDecoder(req.uri()).rawPath().equals("/add-checkpoint")) {
        r = Witness.Response.text(404, "not found\n");
      } else if (!req.method().equals(HttpMethod.POST)) {
        r = Witness.Response.text(405, "POST only\n");
        allow = "POST";
      } else {
        r = witness.addCheckpoint(ByteBufUtil.getBytes(req.content()));
      }
      FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
          Unpooled.wrappedBuffer(r.body()));
      res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
      res.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
      if (allow != null) res.headers().set(HttpHeaderNames.ALLOW, allow);
      if (HttpUtil.isKeepAlive(req) && req.decoderResult().isSuccess()) {
        ctx.writeAndFlush(res);
      } else {
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // A request over the size cap or a broken connection: answer if we can, then close.
      if (cause instanceof io.netty.handler.codec.TooLongFrameException) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.BAD_REQUEST,
            Unpooled.copiedBuffer("request too large\n", StandardCharsets.UTF_8));
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
      } else {
        ctx.close();
      }
    }
  }
}
