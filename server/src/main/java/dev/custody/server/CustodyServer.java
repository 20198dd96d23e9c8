package dev.custody.server;

import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.LinkVerifier;
import dev.custody.server.admission.CheckPool;
import dev.custody.server.api.ChainLookupService;
import dev.custody.server.api.TransparencyLogService;
import dev.custody.server.cluster.ClusterNode;
import dev.custody.server.explorer.Explorer;
import dev.custody.server.export.Exporter;
import dev.custody.server.guard.CallDeadlines;
import dev.custody.server.guard.CallLimits;
import dev.custody.server.guard.ClientBudgets;
import dev.custody.server.guard.Guard;
import dev.custody.server.guard.SubmitterCertificates;
import dev.custody.server.metrics.GrpcMetrics;
import dev.custody.server.metrics.ServerMetrics;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.sequencer.BatchListener;
import dev.custody.server.sequencer.Sequencer;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.tiles.TileRoutes;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.HttpResponse;
import dev.custody.serving.HttpServer;
import dev.custody.serving.Routes;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/** A running log: store, identity, sequencer and gRPC endpoint, started and stopped as one. */
public final class CustodyServer implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(CustodyServer.class.getName());

  /**
   * Largest request accepted by the transport; above an entry's 64 KiB and a batch's 256 KiB of
   * entries (with their framing), so that oversize gets our message.
   */
  public static final int MAX_INBOUND_MESSAGE_BYTES = 320 * 1024;

  /** Request headers: ours need a few hundred bytes. */
  static final int MAX_METADATA_BYTES = 8 * 1024;

  /**
   * Streams open at once on one connection; more wait at the client (HTTP/2
   * MAX_CONCURRENT_STREAMS).
   */
  static final int MAX_CALLS_PER_CONNECTION = 256;

  /** A connection must finish its HTTP/2 (and TLS) handshake within this. */
  static final int HANDSHAKE_SECONDS = 10;

  /** A connection with no call open for this long is closed (clients reconnect by themselves). */
  static final int IDLE_CONNECTION_SECONDS = 60;

  private final LogStorage storage;
  private final LogIdentity identity;
  private final Sequencer sequencer;
  private final ClusterNode cluster; // null on a single node
  private final ExecutorService worker;
  private final ExecutorService diskReads;
  private final ScheduledExecutorService timer;
  private final CheckPool checks;
  private final HealthStatusManager health;
  private final Server grpc;
  private final HttpServer http;
  private final List<Exporter> exports;
  private final Cosigning cosigning;
  private final LinkVerifier verifier;

  private CustodyServer(
      LogStorage storage,
      LogIdentity identity,
      Sequencer sequencer,
      ClusterNode cluster,
      ExecutorService worker,
      ExecutorService diskReads,
      CheckPool checks,
      ScheduledExecutorService timer,
      HealthStatusManager health,
      Server grpc,
      HttpServer http,
      List<Exporter> exports,
      Cosigning cosigning,
      LinkVerifier verifier) {
    this.verifier = verifier;
    this.storage = storage;
    this.identity = identity;
    this.sequencer = sequencer;
    this.cluster = cluster;
    this.worker = worker;
    this.diskReads = diskReads;
    this.timer = timer;
    this.checks = checks;
    this.health = health;
    this.grpc = grpc;
    this.http = http;
    this.exports = exports;
    this.cosigning = cosigning;
  }

  /**
   * Starts a log on the Netty transport at {@code c.bindAddress():c.grpcPort()}, with every
   * transport limit.
   */
  public static CustodyServer start(ServerConfig c, BatchListener batches) throws IOException {
    InetSocketAddress address = new InetSocketAddress(c.bindAddress(), c.grpcPort());
    NettyServerBuilder netty =
        c.guard().tls().isPresent()
            ? NettyServerBuilder.forAddress(address, c.guard().tls().get().grpc())
            : NettyServerBuilder.forAddress(address);
    netty
        .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
        .maxConnectionIdle(IDLE_CONNECTION_SECONDS, TimeUnit.SECONDS)
        .handshakeTimeout(HANDSHAKE_SECONDS, TimeUnit.SECONDS);
    return start(c, batches, netty);
  }

  /**
   * Starts a log whose gRPC services run on {@code transport}: any {@link ServerBuilder}, such as
   * an in-process one for tests that need no socket. The stages, in order: open the store,
   * establish the log's identity, start the sequencer (single node, cluster node, or read-only),
   * build the read side and admission, serve gRPC, serve HTTP, start the exports. A stage that
   * fails closes every stage before it.
   */
  public static CustodyServer start(
      ServerConfig c, BatchListener batches, ServerBuilder<?> transport) throws IOException {
    Stages stages = new Stages();
    try {
      OpenedStore opened = OpenedStore.open(c);
      stages.add(opened.storage());
      LogStorage storage = opened.storage();
      LogIdentity id = LogIdentity.establish(storage, c.origin(), c.keys(), c.dataDir());
      ServerMetrics metrics = new ServerMetrics();
      Sequencing seq =
          Sequencing.start(
              c, storage, id, opened.readOnly(), Sequencing.observed(metrics, batches), metrics);
      stages.add(seq::close);
      ReadSide read = ReadSide.open(c, storage, seq, id, metrics);
      stages.add(read::close);
      ClientBudgets budgets =
          c.guard().clientCallsPerSecond() > 0
              ? new ClientBudgets(
                  c.guard().clientCallsPerSecond(), c.guard().clientBurst(), System::nanoTime)
              : null;
      HealthStatusManager health = new HealthStatusManager();
      Server grpc =
          serveGrpc(transport, c.guard(), read, seq.sequencer(), storage, health, budgets, metrics);
      stages.add(grpc::shutdownNow);
      HttpServer http = serveHttp(c, storage, read, metrics, budgets);
      if (http != null) stages.add(http);
      List<Exporter> exports = Exports.start(c, storage, read, seq, id.signers(), metrics);
      health.setStatus("", ServingStatus.SERVING);
      health.setStatus("custody.v1.TransparencyLog", ServingStatus.SERVING);
      health.setStatus("custody.v1.ChainLookup", ServingStatus.SERVING);
      return new CustodyServer(
          storage,
          id,
          seq.sequencer(),
          seq.cluster(),
          read.worker(),
          read.diskReads(),
          read.checks(),
          read.timer(),
          health,
          grpc,
          http,
          exports,
          read.cosigning(),
          read.verifier());
    } catch (IOException | RuntimeException e) {
      stages.closeAll();
      throw e;
    }
  }

  /** What started so far, closed in reverse order when a later stage fails. */
  private static final class Stages {
    private final ArrayDeque<AutoCloseable> opened = new ArrayDeque<>();

    void add(AutoCloseable stage) {
      opened.push(stage);
    }

    void closeAll() {
      while (!opened.isEmpty()) {
        try {
          opened.pop().close();
        } catch (Exception suppressed) {
          LOG.warning("closing after a failed start: " + suppressed);
        }
      }
    }
  }

  /** The gRPC services on {@code transport}, behind the guard's interceptors, started. */
  private static Server serveGrpc(
      ServerBuilder<?> transport,
      Guard guard,
      ReadSide read,
      Sequencer sequencer,
      LogStorage storage,
      HealthStatusManager health,
      ClientBudgets budgets,
      ServerMetrics metrics)
      throws IOException {
    // Interceptors run in the reverse order of adding: metrics see every call, budgets act before
    // any work.
    transport.intercept(new CallDeadlines(guard.maxCallSeconds(), read.timer()));
    CallLimits limits =
        new CallLimits(
            CallLimits.PER_CLIENT,
            CallLimits.STREAMS_PER_CLIENT,
            CallLimits.STREAMS,
            CallLimits.CONNECTIONS_PER_CLIENT);
    metrics.streams(limits::openStreams);
    transport.intercept(limits).addTransportFilter(limits.connections());
    if (guard.submittersNeedCertificates()) {
      transport.intercept(
          new SubmitterCertificates(
              // Every way to write: Submit and SubmitBatch alike.
              Set.of(
                  TransparencyLogGrpc.getSubmitMethod().getFullMethodName(),
                  TransparencyLogGrpc.getSubmitBatchMethod().getFullMethodName())));
    }
    // One budget per client for its gRPC calls and its explorer pages alike.
    if (budgets != null) transport.intercept(budgets);
    return transport
        .directExecutor()
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .maxInboundMetadataSize(MAX_METADATA_BYTES)
        .intercept(new GrpcMetrics(metrics))
        .addService(
            new TransparencyLogService(
                read.admission(),
                sequencer,
                read.cosigning(),
                read.reader(),
                read.info(),
                read.worker(),
                read.checks(),
                metrics,
                read.diskReads()))
        .addService(
            new ChainLookupService(
                new LinkIndex(storage),
                read.links(),
                read.reader(),
                sequencer,
                read.cosigning(),
                read.worker()))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build()
        .start();
  }

  /**
   * The log's HTTP port: tiles and the checkpoint, /metrics, and the explorer's pages, one route
   * table; null when the port is off (-1). Storage failures answer 503 "try again".
   */
  private static HttpServer serveHttp(
      ServerConfig c,
      LogStorage storage,
      ReadSide read,
      ServerMetrics metrics,
      ClientBudgets budgets)
      throws IOException {
    if (c.httpPort() < 0) return null;
    Explorer explorer =
        new Explorer(
            storage,
            read.links(),
            read.reader(),
            read.cosigning()::served,
            metrics::submissionsByResult,
            budgets == null ? client -> true : budgets::allows);
    Routes routes =
        Routes.builder()
            .include(TileRoutes.of(read.reader(), read.cosigning()::served))
            .get(
                "/metrics",
                r ->
                    new HttpResponse(
                        200,
                        "text/plain; version=0.0.4; charset=utf-8",
                        metrics.scrape().getBytes(StandardCharsets.UTF_8),
                        Map.of("Cache-Control", "no-cache")))
            .include(explorer.routes())
            .build();
    try {
      return HttpServer.builder()
          .listen(c.bindAddress(), c.httpPort())
          .tls(c.guard().tls().isPresent() ? c.guard().tls().get().http() : null)
          .compress(true)
          .workerThreads(HTTP_READ_THREADS)
          .name("custody-http")
          .onFailure(e -> HttpResponse.text(503, "the log's storage failed; try again\n"))
          .start(routes);
    } catch (InterruptedException | RuntimeException e) {
      throw new IOException("cannot serve HTTP on port " + c.httpPort() + ": " + e, e);
    }
  }

  /** Threads reading storage for HTTP: tiles and pages are cheap reads, mostly from cache. */
  static final int HTTP_READ_THREADS = 4;

  public int grpcPort() {
    return grpc.getPort();
  }

  /** The HTTP tile port, or -1 when tiles are not served. */
  public int httpPort() {
    return http == null ? -1 : http.port();
  }

  /** What checks link signatures here ("accp" or "bouncycastle"). */
  public String signatureVerifier() {
    return verifier.name();
  }

  public LogIdentity identity() {
    return identity;
  }

  /** The store, for tests in this package that build parts of the server around it. */
  LogStorage storage() {
    return storage;
  }

  public Sequencer sequencer() {
    return sequencer;
  }

  /** This server's cluster membership, when it is one node of a cluster. */
  public Optional<ClusterNode> cluster() {
    return Optional.ofNullable(cluster);
  }

  /** Stops taking calls, lets those in flight finish (up to 10 s), then closes the store. */
  @Override
  public void close() {
    health.enterTerminalState();
    if (http != null) http.close();
    cosigning.close();
    grpc.shutdown();
    try {
      grpc.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    grpc.shutdownNow();
    for (Exporter e : exports)
      e.close(); // while this node may still lead: a clean stop leaves the sink at the head
    if (cluster != null) {
      cluster.close(); // its sequencer first, then the Raft server
    } else {
      sequencer.close();
    }
    checks.close();
    worker.shutdown();
    diskReads.shutdown();
    timer.shutdownNow();
    try {
      worker.awaitTermination(5, TimeUnit.SECONDS);
      diskReads.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    storage.close();
  }
}
