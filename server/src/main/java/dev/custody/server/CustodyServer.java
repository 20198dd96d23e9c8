package dev.custody.server;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.LogKey;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.LinkVerifier;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.server.admission.Admission;
import dev.custody.server.admission.CheckPool;
import dev.custody.server.admission.LayerLinkAdmission;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.admission.Warmup;
import dev.custody.server.api.ChainLookupService;
import dev.custody.server.api.TransparencyLogService;
import dev.custody.server.cluster.ClusterNode;
import dev.custody.server.explorer.Explorer;
import dev.custody.server.export.Exporter;
import dev.custody.server.export.FolderSink;
import dev.custody.server.export.TileSink;
import dev.custody.server.guard.CallDeadlines;
import dev.custody.server.guard.CallLimits;
import dev.custody.server.guard.ClientBudgets;
import dev.custody.server.guard.Guard;
import dev.custody.server.guard.SubmitterCertificates;
import dev.custody.server.keys.KeyHistory;
import dev.custody.server.metrics.GrpcMetrics;
import dev.custody.server.metrics.Metrics;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.read.LogReader;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.sequencer.BatchListener;
import dev.custody.server.sequencer.GroupCommitSequencer;
import dev.custody.server.sequencer.ReadOnlySequencer;
import dev.custody.server.sequencer.Sequencer;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
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
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** A running log: store, identity, sequencer and gRPC endpoint, started and stopped as one. */
public final class CustodyServer implements AutoCloseable {
  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(CustodyServer.class.getName());

  /**
   * Largest request accepted by the transport; above an entry's 64 KiB so that oversize gets our
   * message.
   */
  public static final int MAX_INBOUND_MESSAGE_BYTES = 256 * 1024;

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

  /**
   * Hard cap on submissions waiting for a signature check: room for a burst of a few thousand links
   * (at most 64 KiB each, checked before queueing); the standing-queue rule refuses overload long
   * before a steady flood fills it.
   */
  static final int CHECKS_QUEUE = 4096;

  /** Longest the start-up may spend warming the signature checks. */
  static final long WARMUP_BUDGET_MILLIS = 3_000;

  /**
   * Loads the upper strata of the tree into the reader's slice cache, on a thread of its own so
   * that the port opens at once: proofs served meanwhile read the store as they would anyway.
   */
  /**
   * Whether the file system holding {@code dir} is mounted read-only (the mount's flag, not an
   * error's text).
   */
  static boolean onReadOnlyFileSystem(Path dir) {
    try {
      return java.nio.file.Files.getFileStore(dir).isReadOnly();
    } catch (IOException e) {
      return false; // cannot tell: the store's own error stands
    }
  }

  /** Threads for proofs that wait for the disk: enough to keep a disk's queue full. */
  static final int DISK_READ_THREADS = 16;

  /** Proofs waiting for a disk-reads thread before more are refused with RESOURCE_EXHAUSTED. */
  static final int DISK_READS_QUEUE = 4096;

  private static ExecutorService diskReadsPool() {
    java.util.concurrent.ThreadPoolExecutor pool =
        new java.util.concurrent.ThreadPoolExecutor(
            DISK_READ_THREADS,
            DISK_READ_THREADS,
            30,
            TimeUnit.SECONDS,
            new java.util.concurrent.ArrayBlockingQueue<>(DISK_READS_QUEUE),
            r -> {
              Thread t = new Thread(r, "custody-disk-reads");
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true); // a warm cache needs none of them
    return pool;
  }

  private static void prefetch(LogReader reader, long size) {
    Thread t =
        new Thread(
            () -> {
              long t0 = System.nanoTime();
              try {
                long slices = reader.prefetch(size);
                LOG.info(
                    "cached "
                        + slices
                        + " slices of the tree's upper strata in "
                        + (System.nanoTime() - t0) / 1_000_000
                        + " ms");
              } catch (RuntimeException e) {
                // Only a cache: a failure here costs the first proofs a read each, and a damaged
                // store is
                // reported by the reads that need it.
                LOG.warning("caching the tree's upper strata failed: " + e.getMessage());
              }
            },
            "custody-prefetch");
    t.setDaemon(true);
    t.start();
  }

  private static Map<String, Long> bySink(
      List<Exporter> sinks, java.util.function.ToLongFunction<Exporter> value) {
    Map<String, Long> out = new java.util.LinkedHashMap<>();
    for (Exporter e : sinks) out.put(e.describe(), value.applyAsLong(e));
    return out;
  }

  /**
   * Every key of the log's history, as GetLogInfo lists them: the signing ones first, in signing
   * order.
   */
  private static List<LogKey> logKeys(LogIdentity id) {
    List<KeyHistory.Key> ordered = new java.util.ArrayList<>();
    for (LogIdentity.SigningKey k : id.signing())
      id.history().find(k.verifier().vkey()).ifPresent(ordered::add);
    id.history().keys().stream().filter(k -> !ordered.contains(k)).forEach(ordered::add);
    List<LogKey> out = new java.util.ArrayList<>();
    for (KeyHistory.Key k : ordered) {
      byte[] spki;
      try {
        spki = Ed25519NoteKeys.parseVerifierKey(k.verifierKey()).subjectPublicKeyInfo();
      } catch (NoteException e) {
        throw new StorageException(
            "the store's record of the log's keys holds an unreadable key: " + e.getMessage());
      }
      out.add(
          LogKey.newBuilder()
              .setVerifierKey(k.verifierKey())
              .setPublicKey(ByteString.copyFrom(spki))
              .setAddedUnixMs(k.addedMs())
              .setRetiredUnixMs(k.retiredMs().orElse(0))
              .build());
    }
    return out;
  }

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
      Opened opened = openStore(c);
      stages.add(opened.storage());
      LogStorage storage = opened.storage();
      prepareStore(storage, c, opened.readOnly());
      LogIdentity id = LogIdentity.establish(storage, c.origin(), c.keys(), c.dataDir());
      Metrics metrics = new Metrics();
      Sequencing seq =
          startSequencer(c, storage, id, opened.readOnly(), observed(metrics, batches), metrics);
      stages.add(seq::close);
      ReadSide read = readSide(c, storage, seq, id, metrics);
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
      List<Exporter> exports = startExports(c, storage, read, seq, id.signers(), metrics);
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
    private final java.util.ArrayDeque<AutoCloseable> opened = new java.util.ArrayDeque<>();

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

  /** The store, and why it takes no writes (null: it does). */
  private record Opened(LogStorage storage, String readOnly) {}

  private static Opened openStore(ServerConfig c) {
    try {
      return new Opened(LogStorage.open(c.dataDir().resolve("db")), null);
    } catch (StorageException e) {
      if (!onReadOnlyFileSystem(c.dataDir())) throw e;
      // A log on a read-only file system is still worth serving: reads work, writes fail closed.
      LOG.warning(
          "the data directory is on a read-only file system: serving reads only; submissions get UNAVAILABLE");
      return new Opened(
          LogStorage.openReadOnly(c.dataDir().resolve("db")),
          "its data directory is on a read-only file system");
    }
  }

  /** Checks every block if asked, and brings the lookups of an older store format up to date. */
  private static void prepareStore(LogStorage storage, ServerConfig c, String readOnly) {
    if (c.guard().verifyStore()) storage.verifyChecksums();
    if (storage.needsLookupUpgrade() && readOnly == null) {
      long size =
          storage
              .latestCheckpoint()
              .map(n -> GroupCommitSequencer.parseStored(n).size())
              .orElse(0L);
      long t0 = System.nanoTime();
      int from = storage.lookupsOfFormat();
      storage.upgradeLookups(size, leaf -> LinkIndex.keysAddedSince(from, leaf));
      LOG.info(
          "upgraded the store's lookups from format "
              + from
              + " ("
              + size
              + " entries read in "
              + (System.nanoTime() - t0) / 1_000_000
              + " ms)");
    }
  }

  /** Each committed batch, counted in the metrics and passed on to the caller's listener. */
  private static BatchListener observed(Metrics metrics, BatchListener batches) {
    DistributionDataPoint batchSize =
        metrics.histogram(
            "custody_batch_entries", "entries per group commit", Metrics.SIZE_BUCKETS);
    DistributionDataPoint commit =
        metrics.histogram(
            "custody_commit_seconds",
            "one synced RocksDB write batch (leaves, tiles, checkpoint), seconds",
            Metrics.LATENCY_BUCKETS);
    CounterDataPoint appended =
        metrics.counter("custody_entries_appended_total", "entries appended since start");
    return (n, nanos) -> {
      batchSize.observe(n);
      commit.observe(nanos / 1e9);
      appended.inc(n);
      batches.committed(n, nanos);
    };
  }

  /** The sequencer, and the cluster node it belongs to (null on a single node). */
  private record Sequencing(Sequencer sequencer, ClusterNode cluster) {
    void close() {
      if (cluster != null) {
        cluster.close(); // its sequencer first, then the Raft server
      } else {
        sequencer.close();
      }
    }
  }

  private static Sequencing startSequencer(
      ServerConfig c,
      LogStorage storage,
      LogIdentity id,
      String readOnly,
      BatchListener observed,
      Metrics metrics)
      throws IOException {
    Sequencing s;
    if (readOnly != null) {
      s = new Sequencing(new ReadOnlySequencer(storage, readOnly), null);
    } else if (c.cluster().isPresent()) {
      if (c.keys().key().isEmpty() || c.origin().isEmpty()) {
        throw new IllegalArgumentException(
            "a cluster node needs --origin and --key-file (or --key-uri): every node signs "
                + "with the same log key (make one with custody keygen --type log, or keep it in a token)");
      }
      ClusterNode node =
          ClusterNode.start(
              c.cluster().get(),
              storage,
              id.origin(),
              id.signers(),
              c.queueCapacity(),
              c.maxBatch(),
              c.guard().pushback(),
              observed);
      s = new Sequencing(node.sequencer(), node);
      metrics.gauge(
          "custody_cluster_is_leader",
          "1 on the cluster's leader, 0 on the other nodes",
          () -> node.isLeader() ? 1 : 0);
      metrics.gauge(
          "custody_cluster_applied_index",
          "the Raft index this node's store has applied",
          node::appliedIndex);
      metrics.gauge(
          "custody_cluster_follower_lag_entries",
          "on the leader, Raft entries the slowest follower lacks; 0 elsewhere",
          node::followerLag);
      metrics.gauge(
          "custody_cluster_term",
          "the Raft term: it grows by one or more with each election",
          node::term);
      metrics.gauge(
          "custody_cluster_leader_changes",
          "leader changes this node has seen since it started",
          node::leaderChanges);
      boolean plaintext = c.cluster().get().tls().isEmpty();
      if (plaintext) {
        java.util.logging.Logger.getLogger("custody")
            .warning(
                "the Raft port runs WITHOUT TLS (--raft-plaintext): anyone who reaches "
                    + c.cluster().get().raftBind()
                    + " can write to the log, vote and change the members");
      }
      metrics.gauge(
          "custody_cluster_raft_plaintext",
          "1 when this node's Raft port runs without TLS (--raft-plaintext): anyone who reaches it "
              + "can write to the log, vote and change the members",
          () -> plaintext ? 1 : 0);
      metrics.gauge(
          "custody_cluster_fence_unreadable",
          "1 while this node, as leader, cannot read the exported checkpoint and so does not lead "
              + "(--export-fence on)",
          () -> node.fenceUnreadable() ? 1 : 0);
      metrics.gauge(
          "custody_cluster_failed_snapshots",
          "snapshots of the store that failed since start; each is retried after a pause that "
              + "doubles up to 5 minutes",
          node::failedSnapshots);
      metrics.gauge(
          "custody_cluster_refused_proposals",
          "batches this node refused as leader before they committed (malformed, or a field out of "
              + "bounds: a timestamp ahead of its clock, a leaf hash not of the body, ...)",
          node::refusedProposals);
      metrics.gauge(
          "custody_cluster_refusing_to_lead",
          "1 while this node refuses to lead (a published checkpoint is ahead of or inconsistent with its store)",
          () -> node.fenced().isPresent() ? 1 : 0);
    } else {
      s =
          new Sequencing(
              new GroupCommitSequencer(
                  storage,
                  id.origin(),
                  id.signers(),
                  c.queueCapacity(),
                  c.maxBatch(),
                  c.guard().pushback(),
                  observed),
              null);
    }
    Sequencer seq = s.sequencer();
    metrics.gauge(
        "custody_tree_size", "entries in the log's latest checkpoint", () -> seq.head().size());
    java.lang.management.MemoryMXBean memory =
        java.lang.management.ManagementFactory.getMemoryMXBean();
    metrics.gauge(
        "custody_jvm_heap_used_bytes",
        "Java heap in use",
        () -> memory.getHeapMemoryUsage().getUsed());
    metrics.gauge(
        "custody_jvm_heap_max_bytes",
        "Java heap limit (-Xmx)",
        () -> memory.getHeapMemoryUsage().getMax());
    return s;
  }

  /**
   * Everything the services share beside the write path: the reader and its caches, the links,
   * admission and its check threads, witness cosigning, the worker and disk-read pools, GetLogInfo.
   */
  private record ReadSide(
      LogReader reader,
      StoredLinks links,
      LinkVerifier verifier,
      Admission admission,
      CheckPool checks,
      Cosigning cosigning,
      ExecutorService worker,
      ExecutorService diskReads,
      ScheduledExecutorService timer,
      java.util.function.Supplier<LogInfo> info) {
    void close() {
      cosigning.close();
      checks.closeNow();
      worker.shutdownNow();
      diskReads.shutdownNow();
      timer.shutdownNow();
    }
  }

  private static ReadSide readSide(
      ServerConfig c, LogStorage storage, Sequencing seq, LogIdentity id, Metrics metrics) {
    // Proofs for acknowledgements and entry streams: bounded, so a flood queues here rather than
    // spawning threads.
    ExecutorService worker =
        Executors.newFixedThreadPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()),
            r -> {
              Thread t = new Thread(r, "custody-worker");
              t.setDaemon(true);
              return t;
            });
    ExecutorService diskReads = diskReadsPool();
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "custody-deadlines");
              t.setDaemon(true);
              return t;
            });
    // Signature checks before sequencing: as many threads as cores; a standing flood is refused
    // (RESOURCE_EXHAUSTED) rather than held in memory, a burst that drains is served.
    CheckPool checks =
        new CheckPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()),
            CHECKS_QUEUE,
            c.guard().pushback());
    metrics.gauge(
        "custody_signature_checks_queued",
        "submissions waiting for a signature check",
        checks::queued);
    LogInfo fixed =
        LogInfo.newBuilder()
            .setOrigin(id.origin())
            .setVerifierKey(id.verifierKey())
            .setPublicKey(ByteString.copyFrom(id.verifier().subjectPublicKeyInfo()))
            .addAllKeys(logKeys(id))
            .build();
    ClusterNode node = seq.cluster();
    // In a cluster the role changes with elections: GetLogInfo says it as it is at the call.
    java.util.function.Supplier<LogInfo> info =
        node == null
            ? () -> fixed
            : () ->
                fixed.toBuilder()
                    .setNodeId(node.nodeId())
                    .setRole(node.role())
                    .setLeaderId(node.leaderId().orElse(""))
                    .build();
    LogReader reader = new LogReader(storage);
    metrics.counter(
        "custody_tile_reads_total",
        "stored runs of nodes read (a slice for a proof, a tile for a tile request); a node cache hit reads none",
        reader::tileReads);
    prefetch(reader, seq.sequencer().head().size());
    StoredLinks links = new StoredLinks(storage);
    // Chosen once: the native provider where it loads and passes its self-test, else Bouncy Castle;
    // same verdicts.
    LinkVerifier verifier = LinkVerifier.fastest();
    metrics.gauge(
        "custody_signature_verifier_info",
        "the implementation that checks link signatures (1)",
        () -> 1,
        "verifier",
        verifier.name());
    Admission admission =
        c.acceptAnyEntry() ? new OpaqueAdmission() : new LayerLinkAdmission(links, verifier);
    if (!admission.cheap()) {
      LOG.fine("signature checks warmed in " + Warmup.run(admission, WARMUP_BUDGET_MILLIS) + " ms");
    }
    Cosigning cosigning =
        new Cosigning(c.witnesses(), c.witnessQuorum(), reader, seq.sequencer()::head, metrics);
    return new ReadSide(
        reader, links, verifier, admission, checks, cosigning, worker, diskReads, timer, info);
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
      Metrics metrics)
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
    metrics.gauge(
        "custody_entry_streams_open",
        "GetEntries and FindLinks streams open now",
        limits::openStreams);
    transport.intercept(limits).addTransportFilter(limits.connections());
    if (guard.submittersNeedCertificates()) {
      transport.intercept(
          new SubmitterCertificates(
              Set.of(TransparencyLogGrpc.getSubmitMethod().getFullMethodName())));
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
      ServerConfig c, LogStorage storage, ReadSide read, Metrics metrics, ClientBudgets budgets)
      throws IOException {
    if (c.httpPort() < 0) return null;
    Explorer explorer =
        new Explorer(
            storage,
            read.links(),
            read.reader(),
            read.cosigning()::served,
            () -> metrics.counterValues("custody_submissions_total"),
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

  /** The exports to a folder and a bucket, each following the published head. */
  private static List<Exporter> startExports(
      ServerConfig c,
      LogStorage storage,
      ReadSide read,
      Sequencing seq,
      List<dev.custody.note.NoteSigner> signers,
      Metrics metrics)
      throws IOException {
    List<TileSink> sinks = new java.util.ArrayList<>();
    if (c.tilesDir().isPresent()) sinks.add(new FolderSink(c.tilesDir().get()));
    c.s3().ifPresent(t -> sinks.add(t.open()));
    ClusterNode node = seq.cluster();
    // On a cluster only the leader exports (and it reads the sink's checkpoint first); a single
    // node always does.
    java.util.function.BooleanSupplier exporting = node == null ? () -> true : node::isLeader;
    List<Exporter> exports = new java.util.ArrayList<>();
    // Only a checkpoint this log signed counts in the sink: one anyone could PUT must not stop
    // every node from leading.
    java.util.function.Predicate<String> ours =
        new dev.custody.server.sequencer.Integrator(
                seq.sequencer().head().checkpoint().origin(), signers)
            ::signedByThisLog;
    for (TileSink sink : sinks) {
      exports.add(
          Exporter.start(
              sink, read.reader(), storage, read.cosigning()::served, exporting, ours, 200));
    }
    if (node != null && c.exportFence()) {
      node.setLeadershipCheck(
          head -> {
            for (Exporter e : exports) {
              Optional<String> why = e.objection(head);
              if (why.isPresent()) return why;
            }
            return Optional.empty();
          });
    }
    if (!exports.isEmpty()) {
      List<Exporter> sinkList = List.copyOf(exports);
      Sequencer sequencer = seq.sequencer();
      metrics.gauges(
          "custody_export_size",
          "the tree size the export target holds (-1 until known; on a cluster, "
              + "known on the leader)",
          "sink",
          () -> bySink(sinkList, Exporter::exportedSize));
      metrics.gauges(
          "custody_export_lag_entries",
          "entries in this node's latest checkpoint not yet exported "
              + "(on a cluster, on the leader; 0 elsewhere)",
          "sink",
          () ->
              bySink(
                  sinkList,
                  e ->
                      e.exportedSize() < 0
                          ? 0
                          : Math.max(0, sequencer.head().size() - e.exportedSize())));
    }
    return exports;
  }

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
