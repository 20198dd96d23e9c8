package dev.custody.bench;

import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.server.CustodyServer;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
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
@Command(name = "proofs", mixinStandardHelpOptions = true,
    description = "GetInclusionProof load over gRPC on loopback, random indices, at the log's full size.")
final class ProofLoad implements Callable<Integer> {
  @Option(names = "--data-dir", description = "A log built by `scale --data-dir DIR` (its size is used as is); "
      + "default: build --size entries in a temp dir")
  Path dataDir;

  @Option(names = "--size", defaultValue = "100000", description = "Entries to build when no --data-dir. Default: ${DEFAULT-VALUE}")
  long size;

  @Option(names = "--in-flight", defaultValue = "64", description = "Calls in flight. Default: ${DEFAULT-VALUE}")
  int inFlight;

  @Option(names = "--channels", defaultValue = "2", description = "gRPC connections. Default: ${DEFAULT-VALUE}")
  int channels;

  @Option(names = "--warmup", defaultValue = "5", description = "Seconds of warm-up, not measured. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(names = "--duration", defaultValue = "10", description = "Seconds measured. Default: ${DEFAULT-VALUE}")
  int duration;

  @Override public Integer call() throws Exception {
    Path dir = dataDir;
    if (dir == null) {
      dir = Files.createTempDirectory("custody-proofs");
      try (BulkLog log = BulkLog.open(dir)) {
        log.fillTo(size, 64);
      }
    }
    CustodyServer server = CustodyServer.start(new CustodyServer.Config(dir, Optional.empty(), Optional.empty(),
        "127.0.0.1", 0, 0, Optional.empty(), true, 16384, 4096), (n, t) -> { });
    // One connection is served by one event-loop thread on each side; several spread the work over the cores.
    ManagedChannel[] chs = new ManagedChannel[channels];
    TransparencyLogGrpc.TransparencyLogStub[] stubs = new TransparencyLogGrpc.TransparencyLogStub[channels];
    for (int i = 0; i < channels; i++) {
      chs[i] = ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().directExecutor().build();
      stubs[i] = TransparencyLogGrpc.newStub(chs[i]);
    }
    try {
      long treeSize = server.sequencer().head().size();
      SplittableRandom rnd = new SplittableRandom(1);
      Driver.Call call = (n, done) -> stubs[(int) (n % channels)].getInclusionProof(GetInclusionProofRequest.newBuilder()
          .setIndex(rnd.nextLong(treeSize)).setTreeSize(treeSize).build(), Driver.observer(done, (InclusionProof p) -> 0));
      Driver driver = new Driver(inFlight, 0);
      String metrics = "http://127.0.0.1:" + server.httpPort() + "/metrics";
      Driver.Phase w = driver.run(warmup, call);
      long reads0 = tileReads(metrics);
      Driver.Phase m = driver.run(duration, call);
      long reads = tileReads(metrics) - reads0;
      System.out.printf("proofs: random inclusion proofs at size %d, %d in flight on %d connections, %d s after "
          + "%d s warm-up%n", treeSize, inFlight, channels, duration, warmup);
      System.out.printf("%-10s %10s %8s %8s %8s %8s %14s%n", "phase", "proofs/s", "p50 ms", "p90 ms", "p99 ms",
          "p99.9 ms", "tile reads/proof");
      System.out.printf("%-10s %10.0f %8.2f %8.2f %8.2f %8.2f %14s%n", "warm-up", w.perSecond(), w.ms(50), w.ms(90),
          w.ms(99), w.ms(99.9), "");
      System.out.printf("%-10s %10.0f %8.2f %8.2f %8.2f %8.2f %14.2f%n", "measured", m.perSecond(), m.ms(50),
          m.ms(90), m.ms(99), m.ms(99.9), (double) reads / Math.max(1, m.ok()));
      // The transport's own ceiling in the same run: the cheapest call there is, over the same connections.
      Driver.Call info = (n, done) -> stubs[(int) (n % channels)].getLogInfo(GetLogInfoRequest.getDefaultInstance(),
          Driver.observer(done, (LogInfo i) -> 0));
      driver.run(Math.min(warmup, 2), info);
      Driver.Phase floor = driver.run(duration, info);
      System.out.printf("%-10s %10.0f %8.2f %8.2f %8.2f %8.2f   (GetLogInfo: gRPC alone, no storage)%n", "ceiling",
          floor.perSecond(), floor.ms(50), floor.ms(90), floor.ms(99), floor.ms(99.9));
      System.out.printf("proofs/s: %.2f of the gRPC ceiling%n", m.perSecond() / floor.perSecond());
      System.out.printf("errors: %d%n", m.errors() + floor.errors());
      return m.errors() + floor.errors() == 0 ? 0 : 1;
    } finally {
      for (ManagedChannel ch : chs) ch.shutdownNow();
      server.close();
      if (dataDir == null) LoadGenerator.deleteTree(dir);
    }
  }

  /** The embedded server's /metrics text. */
  static String scrape(String url) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static final Pattern READS = Pattern.compile("(?m)^custody_tile_reads_total (\\d+)$");

  private static long tileReads(String url) throws Exception {
    Matcher m = READS.matcher(scrape(url));
    if (!m.find()) throw new IllegalStateException("no custody_tile_reads_total in " + url);
    return Long.parseLong(m.group(1));
  }
}
