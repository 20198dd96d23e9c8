package dev.custody.bench;

import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Read load: random inclusion proofs over gRPC from a server on a log of a given size, with the
 * storage reads each proof cost (from the server's tile-read counter).
 */
@Command(
    name = "proofs",
    mixinStandardHelpOptions = true,
    description =
        "GetInclusionProof load over gRPC on loopback, random indices, at the log's full size.")
final class ProofLoad implements Callable<Integer> {
  @Option(
      names = "--data-dir",
      description =
          "A log built by `scale --data-dir DIR` (its size is used as is); "
              + "default: build --size entries in a temp dir")
  Path dataDir;

  @Option(
      names = "--size",
      defaultValue = "100000",
      description = "Entries to build when no --data-dir. Default: ${DEFAULT-VALUE}")
  long size;

  @Option(
      names = "--in-flight",
      defaultValue = "64",
      description = "Calls in flight. Default: ${DEFAULT-VALUE}")
  int inFlight;

  @Option(
      names = "--channels",
      defaultValue = "2",
      description = "gRPC connections. Default: ${DEFAULT-VALUE}")
  int channels;

  @Option(
      names = "--warmup",
      defaultValue = "5",
      description = "Seconds of warm-up, not measured. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--duration",
      defaultValue = "10",
      description = "Seconds measured. Default: ${DEFAULT-VALUE}")
  int duration;

  @Option(
      names = "--cold",
      description =
          "First warm the JVM on a log of its own (1.5 million entries, built on the "
              + "spot, so that proofs that miss the slice cache are compiled too), then (after dropping the "
              + "OS page cache with --drop-page-cache) open this log and measure its first --cold-seconds: proofs with "
              + "every cache empty (RocksDB's blocks, the node and slice caches) but compiled code")
  boolean cold;

  @Option(
      names = "--cold-seconds",
      defaultValue = "3",
      description = "Seconds measured cold. Default: ${DEFAULT-VALUE}")
  int coldSeconds;

  @Option(
      names = "--drop-page-cache",
      description =
          "With --cold: sync and drop the OS page cache (root only) before "
              + "opening the log, so that its first reads come from the disk")
  boolean dropPageCache;

  /**
   * The JIT warm-up log of --cold: larger than the slice cache covers (65,536 slices of the lowest
   * stratum), so that the code of proofs that miss it, and hop to the disk-reads threads, is
   * compiled before the cold phase as well.
   */
  private static final long JIT_LOG_ENTRIES = 1_500_000;

  /** A server on one log and the client's connections to it. */
  private final class Target implements AutoCloseable {
    final CustodyServer server;
    final ManagedChannel[] chs = new ManagedChannel[channels];
    final TransparencyLogGrpc.TransparencyLogStub[] stubs =
        new TransparencyLogGrpc.TransparencyLogStub[channels];
    final long treeSize;
    final String metrics;
    final SplittableRandom rnd = new SplittableRandom(1);

    Target(Path dir) throws Exception {
      server =
          CustodyServer.start(
              ServerConfig.builder(dir).anyPorts().acceptAnyEntry(true).build(), (n, t) -> {});
      // One connection is served by one event-loop thread on each side; several spread the work
      // over the cores.
      for (int i = 0; i < channels; i++) {
        chs[i] =
            ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort())
                .usePlaintext()
                .directExecutor()
                .build();
        stubs[i] = TransparencyLogGrpc.newStub(chs[i]);
      }
      treeSize = server.sequencer().head().size();
      metrics = "http://127.0.0.1:" + server.httpPort() + "/metrics";
    }

    Driver.Call proofs() {
      return (n, done) ->
          stubs[(int) (n % channels)].getInclusionProof(
              GetInclusionProofRequest.newBuilder()
                  .setIndex(rnd.nextLong(treeSize))
                  .setTreeSize(treeSize)
                  .build(),
              Driver.observer(done, (InclusionProof p) -> 0));
    }

    @Override
    public void close() {
      for (ManagedChannel ch : chs) ch.shutdownNow();
      server.close();
    }
  }

  @Override
  public Integer call() throws Exception {
    Path dir = dataDir;
    if (dir == null) dir = built(size);
    Driver driver = new Driver(inFlight, 0);
    if (cold) {
      Path jit = built(JIT_LOG_ENTRIES);
      try (Target t = new Target(jit)) {
        driver.run(warmup, t.proofs());
      } finally {
        LoadGenerator.deleteTree(jit);
      }
      if (dropPageCache) dropPageCache();
    }
    try (Target t = new Target(dir)) {
      Driver.Call call = t.proofs();
      long reads0 = tileReads(t.metrics);
      Driver.Phase c = cold ? driver.run(coldSeconds, call) : null;
      long coldReads = tileReads(t.metrics) - reads0;
      Driver.Phase w = driver.run(warmup, call);
      reads0 = tileReads(t.metrics);
      Driver.Phase m = driver.run(duration, call);
      long reads = tileReads(t.metrics) - reads0;
      System.out.printf(
          "proofs: random inclusion proofs at size %d, %d in flight on %d connections, %d s after "
              + "%d s warm-up%n",
          t.treeSize, inFlight, channels, duration, warmup);
      System.out.printf(
          "%-10s %10s %8s %8s %8s %8s %14s%n",
          "phase", "proofs/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "tile reads/proof");
      if (c != null) {
        System.out.printf(
            "%-10s %10.0f %8.2f %8.2f %8.2f %8.2f %14.2f   (first %d s: caches empty%s, JIT warm)%n",
            "cold",
            c.perSecond(),
            c.ms(50),
            c.ms(90),
            c.ms(99),
            c.ms(99.9),
            (double) coldReads / Math.max(1, c.ok()),
            coldSeconds,
            dropPageCache ? ", page cache dropped" : "");
      }
      System.out.printf(
          "%-10s %10.0f %8.2f %8.2f %8.2f %8.2f %14s%n",
          "warm-up", w.perSecond(), w.ms(50), w.ms(90), w.ms(99), w.ms(99.9), "");
      System.out.printf(
          "%-10s %10.0f %8.2f %8.2f %8.2f %8.2f %14.2f%n",
          "measured",
          m.perSecond(),
          m.ms(50),
          m.ms(90),
          m.ms(99),
          m.ms(99.9),
          (double) reads / Math.max(1, m.ok()));
      // The transport's own ceiling in the same run: the cheapest call there is, over the same
      // connections.
      Driver.Call info =
          (n, done) ->
              t.stubs[(int) (n % channels)].getLogInfo(
                  GetLogInfoRequest.getDefaultInstance(), Driver.observer(done, (LogInfo i) -> 0));
      driver.run(Math.min(warmup, 2), info);
      Driver.Phase floor = driver.run(duration, info);
      System.out.printf(
          "%-10s %10.0f %8.2f %8.2f %8.2f %8.2f   (GetLogInfo: gRPC alone, no storage)%n",
          "ceiling", floor.perSecond(), floor.ms(50), floor.ms(90), floor.ms(99), floor.ms(99.9));
      System.out.printf("proofs/s: %.2f of the gRPC ceiling%n", m.perSecond() / floor.perSecond());
      long errors = m.errors() + floor.errors() + (c == null ? 0 : c.errors());
      System.out.printf("errors: %d%n", errors);
      return errors == 0 ? 0 : 1;
    } finally {
      if (dataDir == null) LoadGenerator.deleteTree(dir);
    }
  }

  private static Path built(long entries) throws Exception {
    Path dir = Files.createTempDirectory("custody-proofs");
    try (BulkLog log = BulkLog.open(dir)) {
      log.fillTo(entries, 64);
    }
    return dir;
  }

  private static void dropPageCache() throws Exception {
    new ProcessBuilder("sync").inheritIO().start().waitFor();
    try {
      Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "1");
    } catch (IOException e) {
      throw new IllegalStateException(
          "--drop-page-cache needs root (writing /proc/sys/vm/drop_caches failed: "
              + e.getMessage()
              + ")",
          e);
    }
  }

  /** The embedded server's /metrics text. */
  static String scrape(String url) throws Exception {
    return HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static final Pattern READS = Pattern.compile("(?m)^custody_tile_reads_total ([0-9.]+)$");

  private static long tileReads(String url) throws Exception {
    Matcher m = READS.matcher(scrape(url));
    if (!m.find()) throw new IllegalStateException("no custody_tile_reads_total in " + url);
    return (long) Double.parseDouble(m.group(1));
  }
}
