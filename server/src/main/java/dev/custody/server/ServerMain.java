package dev.custody.server;

import com.sun.management.HotSpotDiagnosticMXBean;
import dev.custody.server.cluster.ClusterNode;
import dev.custody.server.cluster.Peers;
import dev.custody.server.cluster.RaftConfig;
import dev.custody.server.cluster.RaftTls;
import dev.custody.server.export.S3Target;
import dev.custody.server.guard.Guard;
import dev.custody.server.guard.ServerTls;
import dev.custody.server.guard.StandingQueue;
import dev.custody.server.keys.LogKeys;
import dev.custody.server.witness.Cosigning;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar custody-server.jar}: runs a log until SIGTERM or Ctrl-C. */
@Command(
    name = "custody-server",
    mixinStandardHelpOptions = true,
    version = "custody-server 0.1.0",
    subcommands = ClusterCommand.class,
    description = "Runs a Custody transparency log: gRPC API on --grpc-port, data in --data-dir.")
public final class ServerMain implements Callable<Integer> {
  @Option(
      names = "--data-dir",
      defaultValue = "./custody-data",
      description =
          "Where the log lives (RocksDB). Created on first run. Default: ${DEFAULT-VALUE}")
  Path dataDir;

  @Option(
      names = "--grpc-port",
      defaultValue = "" + ServerConfig.DEFAULT_GRPC_PORT,
      description = "gRPC port; 0 picks a free one. Default: ${DEFAULT-VALUE}")
  int grpcPort;

  @Option(
      names = "--http-port",
      defaultValue = "" + ServerConfig.DEFAULT_HTTP_PORT,
      description =
          "HTTP port for the C2SP tlog-tiles read API; 0 picks a free one, -1 turns it off. Default: ${DEFAULT-VALUE}")
  int httpPort;

  @Option(
      names = "--tiles-dir",
      description =
          "Also write the log as static tlog-tiles files here, as it grows, "
              + "for any web server, object store or CDN to serve")
  Path tilesDir;

  @Option(
      names = "--witness",
      description =
          "A witness to ask for cosignatures: URL=VKEY, e.g. "
              + "http://127.0.0.1:7380/=witness.example/w1+1234abcd+BA...; repeatable")
  List<String> witnesses = new ArrayList<>();

  @Option(
      names = "--witness-quorum",
      defaultValue = "0",
      description =
          "Cosignatures a checkpoint needs to count as witnessed (reported, never blocks appends). Default: ${DEFAULT-VALUE}")
  int witnessQuorum;

  @Option(
      names = "--bind-address",
      defaultValue = ServerConfig.DEFAULT_BIND_ADDRESS,
      description = "Address to listen on; 0.0.0.0 for every interface. Default: ${DEFAULT-VALUE}")
  String bindAddress;

  @Option(
      names = "--origin",
      description =
          "The log's origin (checkpoint first line and key name). "
              + "Default: <host name>/custody-<8 random hex digits> on first run, then whatever the data dir holds.")
  String origin;

  @Option(
      names = "--key-file",
      description =
          "The log's Ed25519 key (C2SP private key text). "
              + "Default: <data-dir>/log.key, created on first run.")
  Path keyFile;

  @Option(
      names = "--key-uri",
      description =
          "Instead of --key-file: the log's Ed25519 key in a hardware token or HSM, "
              + "pkcs11:token=…;object=…?module-path=…&pin-source=FILE (RFC 7512; or pin-value=, or CUSTODY_PKCS11_PIN). "
              + "The key never leaves the token; give --origin the first time")
  String keyUri;

  @Option(
      names = "--next-key-file",
      description =
          "Rotating the log's key: the new key (custody keygen --type log "
              + "--name ORIGIN), which then signs every checkpoint beside the log's key until verifiers trust it; then make it "
              + "--key-file and --retire-key the old one (docs/keys.md: Rotating the log's key)")
  Path nextKeyFile;

  @Option(
      names = "--next-key-uri",
      description = "As --next-key-file, for a new key in a token (pkcs11:…)")
  String nextKeyUri;

  @Option(
      names = "--retire-key",
      description =
          "The verifier key (vkey) of an earlier key of this log to retire for "
              + "good: it never signs again. Repeatable")
  List<String> retireKeys = new ArrayList<>();

  @Option(
      names = "--accept-any-entry",
      description =
          "Accept opaque entries of 1..65535 bytes as their own leaves, instead of signed layer links. "
              + "For tests and logs of other artefacts.")
  boolean acceptAnyEntry;

  @Option(
      names = "--queue-capacity",
      defaultValue = "" + ServerConfig.DEFAULT_QUEUE_CAPACITY,
      description =
          "Submissions waiting for the sequencer before it answers RESOURCE_EXHAUSTED. Default: ${DEFAULT-VALUE}")
  int queueCapacity;

  @Option(
      names = "--max-batch",
      defaultValue = "" + ServerConfig.DEFAULT_MAX_BATCH,
      description = "Most entries in one group commit. Default: ${DEFAULT-VALUE}")
  int maxBatch;

  @Option(
      names = "--tls-cert",
      description = "PEM certificate chain: serve gRPC and HTTP over TLS (with --tls-key)")
  Path tlsCert;

  @Option(
      names = "--tls-key",
      description = "PEM PKCS#8 private key of --tls-cert (owner-only permissions advised)")
  Path tlsKey;

  @Option(
      names = "--client-ca",
      description =
          "PEM CA certificate(s): Submit then needs a client certificate they "
              + "signed (reads stay open); budgets count such clients by certificate subject. Needs --tls-cert.")
  Path clientCa;

  @Option(
      names = "--client-rate",
      defaultValue = "0",
      description =
          "Each client's budget of gRPC calls per second "
              + "(by certificate subject, else IP address); above it calls get RESOURCE_EXHAUSTED. 0 = no budget. "
              + "Default: ${DEFAULT-VALUE}")
  double clientRate;

  @Option(
      names = "--client-burst",
      description =
          "Calls a client may make at once above --client-rate. " + "Default: one second's worth")
  Integer clientBurst;

  @Option(
      names = "--max-call-seconds",
      defaultValue = "60",
      description =
          "No call lives longer, whatever deadline " + "the client set. Default: ${DEFAULT-VALUE}")
  int maxCallSeconds;

  @Option(
      names = "--verify-store",
      description =
          "At start, check the checksum of every block of the store "
              + "(takes time in proportion to the log's size; opening always checks every file's size and footer)")
  boolean verifyStore;

  @Option(
      names = "--queue-target-ms",
      defaultValue = "50",
      description =
          "The wait a healthy submission queue "
              + "stays under. Once it has stayed above for --queue-interval-ms, submissions are refused (RESOURCE_EXHAUSTED) "
              + "until it drains: overload then costs refusals, not latency; a burst that drains is served. "
              + "Default: ${DEFAULT-VALUE}")
  int queueTargetMillis;

  @Option(
      names = "--queue-interval-ms",
      defaultValue = "500",
      description =
          "How long a queue must stay above "
              + "--queue-target-ms before submissions are refused. Default: ${DEFAULT-VALUE}")
  int queueIntervalMillis;

  @Option(
      names = "--export",
      description =
          "Publish the log as static tlog-tiles files (tiles, entry bundles, then "
              + "the checkpoint) to s3://BUCKET/PREFIX (credentials and region from the AWS SDK's default chain) or to a "
              + "folder, as --tiles-dir. Files are written create-only; on a cluster only the leader writes")
  String export;

  @Option(
      names = "--s3-endpoint",
      description =
          "The S3-compatible store's URL, when it is not AWS "
              + "(MinIO, Ceph, S3Proxy...), e.g. http://127.0.0.1:9000")
  URI s3Endpoint;

  @Option(
      names = "--node-id",
      description = "This node's id in a cluster: one of the ids in --peers")
  String nodeId;

  @Option(
      names = "--peers",
      description =
          "The cluster's members and their Raft addresses: "
              + "n1=HOST:PORT,n2=HOST:PORT,n3=HOST:PORT (the same on every node). Without it, the single-node log")
  String peers;

  @Option(
      names = "--join",
      description =
          "This node is new to a running cluster: start outside it and wait to be "
              + "added with custody-server cluster add (--peers names this node and at least one member)")
  boolean join;

  @Option(
      names = "--snapshot-every",
      defaultValue = "10000",
      description =
          "In a cluster: Raft entries (batches) "
              + "between snapshots of the store, after which the Raft log before them is dropped. Default: ${DEFAULT-VALUE}")
  long snapshotEvery;

  @Option(
      names = "--raft-tls-cert",
      paramLabel = "FILE",
      description =
          "In a cluster: this node's certificate for the Raft port, naming its --node-id "
              + "(custody-server cluster certs makes one per node)")
  Path raftTlsCert;

  @Option(names = "--raft-tls-key", paramLabel = "FILE", description = "This node's Raft key")
  Path raftTlsKey;

  @Option(
      names = "--raft-tls-ca",
      paramLabel = "FILE",
      description = "The cluster's CA: the Raft port accepts only certificates it issued")
  Path raftTlsCa;

  @Option(
      names = "--raft-plaintext",
      description =
          "Run the Raft port without TLS. Anyone who reaches it can then write to the log, vote, "
              + "and add or remove members: only on a network no one else reaches")
  boolean raftPlaintext;

  @Option(
      names = "--export-fence",
      paramLabel = "on|off",
      defaultValue = "on",
      description =
          "In a cluster with --export: a new leader first reads the exported checkpoint and does "
              + "not lead while it cannot (fail closed: a restored old copy must not fork what was "
              + "published). 'off' leads without reading it, for an outage of the bucket. "
              + "Default: ${DEFAULT-VALUE}")
  String exportFence;

  @Option(
      names = "--raft-bind",
      paramLabel = "HOST",
      description =
          "The address the Raft port listens on. Default: the host of this node's own entry in "
              + "--peers (0.0.0.0 listens on every interface, and only when named)")
  String raftBind;

  /** --tiles-dir, or --export when it names a folder. */
  private Path exportFolder() {
    if (export != null && !export.startsWith("s3://")) {
      if (tilesDir != null)
        throw new IllegalArgumentException(
            "--tiles-dir and --export DIR name the same thing; give one");
      return Path.of(export);
    }
    return tilesDir;
  }

  private Optional<S3Target> s3() {
    if (export == null || !export.startsWith("s3://")) {
      if (s3Endpoint != null)
        throw new IllegalArgumentException("--s3-endpoint goes with --export s3://BUCKET/PREFIX");
      return Optional.empty();
    }
    return Optional.of(new S3Target(URI.create(export), Optional.ofNullable(s3Endpoint)));
  }

  private Optional<ClusterNode.Settings> cluster() throws IOException {
    int tlsFiles =
        (raftTlsCert != null ? 1 : 0) + (raftTlsKey != null ? 1 : 0) + (raftTlsCa != null ? 1 : 0);
    if (peers == null && nodeId == null) {
      if (tlsFiles > 0 || raftPlaintext || raftBind != null)
        throw new IllegalArgumentException("the --raft-* options are for a cluster (--peers)");
      return Optional.empty();
    }
    if (peers == null || nodeId == null)
      throw new IllegalArgumentException("--node-id and --peers go together");
    if (tlsFiles != 0 && tlsFiles != 3)
      throw new IllegalArgumentException(
          "--raft-tls-cert, --raft-tls-key and --raft-tls-ca go together");
    if (tlsFiles == 3 && raftPlaintext)
      throw new IllegalArgumentException("--raft-plaintext and --raft-tls-* contradict each other");
    if (tlsFiles == 0 && !raftPlaintext) {
      throw new IllegalArgumentException(
          "a cluster node needs TLS on its Raft port: without it anyone who reaches the port can "
              + "fork or halt the log. Give --raft-tls-cert, --raft-tls-key and --raft-tls-ca "
              + "(custody-server cluster certs --out DIR --nodes n1,n2,n3 makes them), or "
              + "--raft-plaintext on a network no one else reaches");
    }
    Optional<RaftTls> tls =
        tlsFiles == 3
            ? Optional.of(RaftTls.load(raftTlsCert, raftTlsKey, raftTlsCa))
            : Optional.empty();
    return Optional.of(
        new ClusterNode.Settings(
            nodeId,
            Peers.parse(peers),
            dataDir.resolve("raft"),
            snapshotEvery,
            ClusterNode.Settings.SNAPSHOT_INTERVAL,
            ClusterNode.Settings.ELECTION_MIN,
            ClusterNode.Settings.ELECTION_MAX,
            join,
            raftBind,
            tls));
  }

  private LogKeys logKeys() {
    if (keyUri != null && keyFile != null)
      throw new IllegalArgumentException("give --key-file or --key-uri, not both");
    if (nextKeyUri != null && nextKeyFile != null) {
      throw new IllegalArgumentException("give --next-key-file or --next-key-uri, not both");
    }
    Optional<LogKeys.Source> key =
        keyFile != null
            ? Optional.of(new LogKeys.File(keyFile))
            : Optional.ofNullable(keyUri).map(LogKeys.Token::new);
    Optional<LogKeys.Source> next =
        nextKeyFile != null
            ? Optional.of(new LogKeys.File(nextKeyFile))
            : Optional.ofNullable(nextKeyUri).map(LogKeys.Token::new);
    return new LogKeys(key, next, retireKeys);
  }

  private Guard guard() {
    if ((tlsCert == null) != (tlsKey == null))
      throw new IllegalArgumentException("--tls-cert and --tls-key go together");
    if (clientCa != null && tlsCert == null)
      throw new IllegalArgumentException("--client-ca needs --tls-cert and --tls-key");
    Optional<ServerTls> tls =
        tlsCert == null
            ? Optional.empty()
            : Optional.of(new ServerTls(tlsCert, tlsKey, Optional.ofNullable(clientCa)));
    int burst = clientBurst != null ? clientBurst : (int) Math.max(1, Math.ceil(clientRate));
    return new Guard(
        tls,
        clientRate,
        burst,
        maxCallSeconds,
        verifyStore,
        new StandingQueue.Rule(queueTargetMillis, queueIntervalMillis));
  }

  public static void main(String[] args) {
    RaftConfig.sizeCommonPool();
    System.setProperty(
        "java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tLZ %4$s %3$s: %5$s%6$s%n");
    // Ratis reports every vote and snapshot chunk at INFO; an operator needs its warnings
    // (-Dcustody.ratis.log=INFO to
    // see the rest). Held in this frame until exit: JUL keeps loggers weakly, and would forget the
    // level.
    Logger ratis = Logger.getLogger("org.apache.ratis");
    ratis.setLevel(Level.parse(System.getProperty("custody.ratis.log", "WARNING")));
    int code =
        new CommandLine(new ServerMain())
            .setExecutionExceptionHandler(
                (e, cmd, parsed) -> {
                  // Start-up problems (a held lock, a wrong key, a busy port) are for a person to
                  // fix: say what, not where.
                  cmd.getErr()
                      .println("custody-server: " + (e.getMessage() == null ? e : e.getMessage()));
                  return 1;
                })
            .execute(args);
    ratis.fine("exiting " + code);
    System.exit(code);
  }

  private List<Cosigning.WitnessConfig> witnessConfigs() throws Exception {
    List<Cosigning.WitnessConfig> out = new ArrayList<>();
    for (String w : witnesses) out.add(Cosigning.WitnessConfig.parse(w));
    return out;
  }

  /**
   * A JVM that ran out of memory has threads that died half-way (timers, event loops): it must
   * exit, so that a supervisor restarts it, rather than linger answering nothing. The flag that
   * does so cannot be set from inside, so bin/custody-server passes it; run any other way, the
   * server says so at start, and exits on an OutOfMemoryError that reaches a thread's top.
   */
  private static void exitOnOutOfMemory(Logger log) {
    Thread.setDefaultUncaughtExceptionHandler(
        (t, e) -> {
          if (e instanceof OutOfMemoryError) {
            System.err.println("custody: out of memory in thread " + t.getName() + "; exiting");
            Runtime.getRuntime().halt(3);
          }
          System.err.println("custody: uncaught exception in thread " + t.getName() + ": " + e);
        });
    try {
      var hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      if (!Boolean.parseBoolean(hotspot.getVMOption("ExitOnOutOfMemoryError").getValue())) {
        log.warning(
            "the JVM runs without -XX:+ExitOnOutOfMemoryError: run the server with bin/custody-server, "
                + "or add that flag, so that running out of memory ends the process instead of leaving it half-alive");
      }
    } catch (RuntimeException notHotSpot) {
      // another JVM: nothing to check
    }
  }

  /** How long a SIGTERM waits for an orderly close before the process halts. */
  static final Duration STOP_WITHIN = Duration.ofSeconds(8);

  @Override
  public Integer call() throws Exception {
    Logger log = Logger.getLogger("custody");

    exitOnOutOfMemory(log);
    ServerConfig.Builder config =
        ServerConfig.builder(dataDir)
            .keys(logKeys())
            .bindAddress(bindAddress)
            .grpcPort(grpcPort)
            .httpPort(httpPort)
            .acceptAnyEntry(acceptAnyEntry)
            .queueCapacity(queueCapacity)
            .maxBatch(maxBatch)
            .witnesses(witnessConfigs(), witnessQuorum)
            .guard(guard());
    if (!exportFence.equals("on") && !exportFence.equals("off"))
      throw new IllegalArgumentException("--export-fence is on or off, not " + exportFence);
    config.exportFence(exportFence.equals("on"));
    if (origin != null) config.origin(origin);
    cluster().ifPresent(config::cluster);
    s3().ifPresent(config::s3);
    Optional.ofNullable(exportFolder()).ifPresent(config::tilesDir);
    CustodyServer server = CustodyServer.start(config.build(), (n, t) -> {});
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  // JUL resets itself in its own shutdown hook, so these lines go straight to
                  // stderr.
                  System.err.println("custody: stopping (SIGTERM)");
                  // A stop is bounded whatever state the parts are in (Ratis' apply thread, a
                  // stuck disk): what an orderly close has not done by then, the next start
                  // recovers (the Raft log and RocksDB's WAL hold every acknowledged entry).
                  Thread closer = new Thread(server::close, "custody-close");
                  closer.setDaemon(true);
                  closer.start();
                  try {
                    closer.join(STOP_WITHIN.toMillis());
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  if (closer.isAlive()) {
                    System.err.println(
                        "custody: not stopped cleanly within "
                            + STOP_WITHIN.toSeconds()
                            + " s; halting");
                    Runtime.getRuntime().halt(1);
                  }
                  System.err.println("custody: stopped cleanly");
                  stopped.countDown();
                },
                "custody-shutdown"));
    log.info(
        "custody log listening on "
            + bindAddress
            + ":"
            + server.grpcPort()
            + (tlsCert != null
                ? " tls=on" + (clientCa != null ? " submitters=client-certificates" : "")
                : " tls=off")
            + (server.httpPort() >= 0
                ? " tiles="
                    + (tlsCert != null ? "https" : "http")
                    + "://"
                    + bindAddress
                    + ":"
                    + server.httpPort()
                    + "/"
                : "")
            + " origin="
            + server.identity().origin()
            + " size="
            + server.sequencer().head().size()
            + " entries="
            + (acceptAnyEntry ? "opaque" : "layer-links signatures=" + server.signatureVerifier())
            + " verifier_key="
            + server.identity().verifierKey()
            + (server.identity().signing().size() > 1
                ? " next_key=" + server.identity().signing().get(1).verifier().vkey()
                : "")
            + " data_dir="
            + dataDir.toAbsolutePath().normalize()
            + server.cluster().map(n -> " node=" + n.nodeId() + " peers=" + peers).orElse(""));
    stopped.await();
    return 0;
  }
}
