package dev.custody.bench;

import com.google.protobuf.ByteString;
import dev.custody.api.ClientRetries;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.api.v1.SubmitBatchResponse;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.SubmitResult;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Closed-loop submit load over gRPC on loopback: a fixed number of submissions in flight, each
 * timed from send to the returned proof. Reports appends/s, latency percentiles, and the batches
 * the sequencer formed (distinct checkpoint sizes in the answers).
 */
@Command(
    name = "load",
    mixinStandardHelpOptions = true,
    description =
        "Submit load against a server (an embedded one in a temp dir unless --target is given).")
final class LoadGenerator implements Callable<Integer> {
  @Option(
      names = "--target",
      description = "host:port of a running server; default: start one in-process")
  String target;

  @Option(
      names = "--in-flight",
      defaultValue = "256",
      description = "Submissions in flight. Default: ${DEFAULT-VALUE}")
  int inFlight;

  @Option(
      names = "--warmup",
      defaultValue = "10",
      description = "Seconds of warm-up, not measured. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--duration",
      defaultValue = "20",
      description = "Seconds measured. Default: ${DEFAULT-VALUE}")
  int duration;

  @Option(
      names = "--entry-bytes",
      defaultValue = "256",
      description = "Bytes per opaque entry. Default: ${DEFAULT-VALUE}")
  int entryBytes;

  @Option(
      names = "--rate",
      defaultValue = "0",
      description =
          "Open loop: offer this many submissions per second "
              + "whatever the answers (latency from the intended send time, so a stall is not hidden); 0 = closed loop "
              + "with --in-flight outstanding. Default: ${DEFAULT-VALUE}")
  int rate;

  @Option(
      names = "--links",
      description =
          "Submit pre-signed Ed25519 layer links (signature checks on) instead of "
              + "opaque entries; the embedded server then runs in its default, layer-link mode")
  boolean links;

  @Option(
      names = "--batch",
      defaultValue = "1",
      description =
          "Entries per call: 1 sends Submit, more send SubmitBatch; rates count entries. "
              + "Default: ${DEFAULT-VALUE}")
  int batch;

  @Option(
      names = "--chains",
      defaultValue = "1",
      description =
          "With --links and --batch: links in chains of this many layers, each on the one below, "
              + "a whole chain in one call (so predecessor lookups are measured); --batch must be a "
              + "multiple of it. Default: ${DEFAULT-VALUE} (bottom-layer links only)")
  int chains;

  @Option(
      names = "--presign",
      defaultValue = "400000",
      description =
          "With --links: links signed before the run (signing is not measured). Default: ${DEFAULT-VALUE}")
  int presign;

  @Option(
      names = "--ceiling",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "After the run, measure this machine's ceilings (Ed25519 verification on all cores, synced "
              + "writes) and print the result as a fraction of them. Default: ${DEFAULT-VALUE}")
  boolean ceiling;

  @Option(
      names = "--ceiling-seconds",
      defaultValue = "5",
      description = "Seconds per ceiling. Default: ${DEFAULT-VALUE}")
  int ceilingSeconds;

  @Option(
      names = "--no-retry",
      description =
          "Count RESOURCE_EXHAUSTED answers instead of retrying them as clients do "
              + "(to measure how much the server refuses)")
  boolean noRetry;

  @Option(
      names = "--server-pid",
      split = ",",
      description =
          "With --target: the server's process id (a cluster's nodes: several, comma-separated), to "
              + "report their CPU time per appended link (from /proc) and that as a multiple of one "
              + "raw signature verification's CPU time")
  List<Long> serverPids = new ArrayList<>();

  private List<byte[]> signed;
  private final org.HdrHistogram.Recorder commits = new org.HdrHistogram.Recorder(3);

  /**
   * Synced writes are measured on the file system the log is on (a temp dir for a remote --target).
   */
  private static Path dataDirFor(Path embedded) throws IOException {
    return embedded != null ? embedded : Path.of(System.getProperty("java.io.tmpdir"));
  }

  private double lastMeasured; // appends/s of the last measured phase
  private double lastEntriesPerBatch; // entries per checkpoint size answered, measured phase
  private double lastCpuPerEntry; // servers' CPU per appended entry, in raw verifications

  /** The figures of one run of {@code load} with these arguments (it prints them too). */
  record Figures(double perSecond, double entriesPerBatch, double cpuPerEntry) {}

  static Figures run(String... args) throws Exception {
    LoadGenerator g = new LoadGenerator();
    new picocli.CommandLine(g).parseArgs(args);
    g.call();
    return new Figures(g.lastMeasured, g.lastEntriesPerBatch, g.lastCpuPerEntry);
  }

  /**
   * Runs this load (opaque entries, retrying as clients do) against {@code target} and returns the
   * measured appends/s.
   */
  static double appendsPerSecond(String target, int warmup, int duration, int inFlight)
      throws Exception {
    return run(
            "--target",
            target,
            "--warmup",
            Integer.toString(warmup),
            "--duration",
            Integer.toString(duration),
            "--in-flight",
            Integer.toString(inFlight),
            "--no-ceiling")
        .perSecond();
  }

  @Override
  public Integer call() throws Exception {
    Path tmp = null;
    CustodyServer server = null;
    String host = "127.0.0.1";
    int port;
    if (target == null) {
      tmp = Files.createTempDirectory("custody-load");
      server =
          CustodyServer.start(
              ServerConfig.builder(tmp)
                  .origin("bench.custody.dev/load")
                  .grpcPort(0)
                  .httpPort(-1)
                  .acceptAnyEntry(!links)
                  .build(),
              (n, t) -> commits.recordValue(t));
      port = server.grpcPort();
    } else {
      host = target.substring(0, target.lastIndexOf(':'));
      port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
    }
    // Callbacks only record a number: running them on the transport thread avoids a hand-off per
    // call.
    if (batch < 1 || batch > 1024) throw new IllegalArgumentException("--batch is 1 to 1024");
    if (chains < 1 || batch % chains != 0)
      throw new IllegalArgumentException("--batch must be a multiple of --chains");
    if (chains > 1 && !links) throw new IllegalArgumentException("--chains needs --links");
    if (links) signed = chains > 1 ? presignChains(presign, chains) : presignLinks(presign);
    // Like every client, the load retries pushback with backoff (ClientRetries), unless told to
    // count refusals.
    ManagedChannelBuilder<?> cb =
        ManagedChannelBuilder.forAddress(host, port).usePlaintext().directExecutor();
    ManagedChannel ch = (noRetry ? cb.disableRetry() : ClientRetries.apply(cb)).build();
    try {
      stub = TransparencyLogGrpc.newStub(ch);
      Driver driver = new Driver(inFlight, rate);
      Driver.Phase w = driver.run(warmup, this::submit);
      commits.reset();
      long cpu0 = processCpuNanos(serverPids);
      Driver.Phase m = driver.run(duration, this::submit);
      long serverCpu = processCpuNanos(serverPids) - cpu0;
      lastMeasured = m.perSecond() * batch;
      lastEntriesPerBatch = m.tags() == 0 ? 0 : (double) m.ok() * batch / m.tags();
      org.HdrHistogram.Histogram c = commits.getIntervalHistogram();
      System.out.printf(
          "load: %s, %s, %d s measured after %d s warm-up (%s)%n",
          (links
                  ? "Ed25519 layer links"
                      + (chains > 1 ? " in chains of " + chains : "")
                      + ", signature checks on"
                  : "opaque entries of " + entryBytes + " B")
              + (batch > 1 ? ", " + batch + " a call (SubmitBatch)" : ", one a call (Submit)"),
          rate > 0 ? "open loop at " + rate + "/s" : inFlight + " in flight",
          duration,
          warmup,
          target == null ? "embedded server" : target);
      System.out.printf(
          "%-14s %10s %8s %8s %8s %8s %8s %10s %8s%n",
          "phase",
          "appends/s",
          "p50 ms",
          "p90 ms",
          "p99 ms",
          "p99.9 ms",
          "max ms",
          "batches",
          "entries/batch");
      for (Driver.Phase p : new Driver.Phase[] {w, m}) {
        System.out.printf(
            "%-14s %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f %10d %8.1f%n",
            p == w ? "warm-up" : "measured",
            p.perSecond() * batch,
            p.ms(50),
            p.ms(90),
            p.ms(99),
            p.ms(99.9),
            p.latency().getMaxValue() / 1e6,
            p.tags(),
            p.tags() == 0 ? 0 : (double) p.ok() * batch / p.tags());
      }
      if (server != null) {
        System.out.printf(
            "commits (one synced write batch each, measured phase): p50 %.2f ms, p99 %.2f ms, "
                + "p99.9 %.2f ms, max %.2f ms%n",
            c.getValueAtPercentile(50) / 1e6,
            c.getValueAtPercentile(99) / 1e6,
            c.getValueAtPercentile(99.9) / 1e6,
            c.getMaxValue() / 1e6);
      }
      System.out.printf("errors: %d (RESOURCE_EXHAUSTED %d)%n", m.errors(), m.exhausted());
      if (ceiling) {
        Ceilings.Figures f = Ceilings.measure(ceilingSeconds, dataDirFor(tmp));
        f.print(m.perSecond() * batch, links);
        if (!serverPids.isEmpty() && m.ok() > 0) {
          double perLink = serverCpu / (double) (m.ok() * batch);
          lastCpuPerEntry = perLink / f.cpuNanosPerVerify();
          System.out.printf(
              "server CPU per appended %s: %.1f µs = %.2f raw %s verifications (%.1f µs each)%n",
              links ? "link" : "entry",
              perLink / 1e3,
              perLink / f.cpuNanosPerVerify(),
              f.verifier(),
              f.cpuNanosPerVerify() / 1e3);
        }
      }
      return m.errors() == 0 ? 0 : 1;
    } finally {
      ch.shutdownNow();
      if (server != null) server.close();
      if (tmp != null) deleteTree(tmp);
    }
  }

  /** user + system CPU time of these processes together. */
  static long processCpuNanos(List<Long> pids) throws IOException {
    long sum = 0;
    for (long pid : pids) sum += processCpuNanos(pid);
    return sum;
  }

  /** user + system CPU time of a process, from /proc/PID/stat (in clock ticks of 10 ms). */
  static long processCpuNanos(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long ticks =
        Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime: fields 14 and 15 of the line
    return ticks * 10_000_000L;
  }

  private TransparencyLogGrpc.TransparencyLogStub stub;

  private void submit(long n, Driver.Done done) {
    if (batch == 1) {
      stub.submit(
          SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(entry(n))).build(),
          Driver.observer(done, (LogEntry r) -> r.getInclusionProof().getTreeSize()));
      return;
    }
    SubmitBatchRequest.Builder req = SubmitBatchRequest.newBuilder();
    for (long k = (n - 1) * batch + 1; k <= n * batch; k++)
      req.addEntries(ByteString.copyFrom(entry(k)));
    stub.submitBatch(
        req.build(),
        Driver.observer(
            done,
            (SubmitBatchResponse r) -> {
              for (SubmitResult x : r.getResultsList())
                if (x.hasRefused())
                  throw new IllegalStateException("refused: " + x.getRefused().getMessage());
              return r.getCheckpoint().getTreeSize();
            }));
  }

  /** The n-th entry (from 1): a pre-signed link, or opaque bytes made now. */
  private byte[] entry(long n) {
    if (links) {
      if (n > signed.size())
        throw new IllegalStateException("ran out of pre-signed links; raise --presign");
      return signed.get((int) n - 1);
    }
    byte[] e = new byte[entryBytes];
    ByteBuffer.wrap(e).putLong(System.nanoTime()).putLong(n);
    return e;
  }

  /**
   * Links in chains of {@code layers} layers (each chain one image, each link on the one below),
   * chain after chain, signed by 16 keys on all cores.
   */
  static List<byte[]> presignChains(int n, int layers) {
    List<LinkKeys.Signer> keys = new ArrayList<>();
    for (int k = 0; k < 16; k++) keys.add(LinkKeys.generate(LinkKeys.Scheme.ED25519));
    int images = n / layers;
    byte[][] out = new byte[images * layers][];
    IntStream.range(0, images)
        .parallel()
        .forEach(
            img -> {
              List<Digest> diffs = new ArrayList<>();
              for (int k = 0; k < layers; k++)
                diffs.add(Digest.sha256Of(ByteBuffer.allocate(12).putLong(img).putInt(k).array()));
              List<Digest> chainIds = ChainIds.of(diffs);
              Digest manifest =
                  Digest.sha256Of(ByteBuffer.allocate(9).put((byte) 3).putLong(img).array());
              byte[] below = Statement.NO_PREDECESSOR;
              for (int k = 0; k < layers; k++) {
                Statement s =
                    new Statement(
                        "registry.example/load/chain" + (img % 1000),
                        manifest,
                        k,
                        Digest.sha256Of(
                            ByteBuffer.allocate(13).put((byte) 4).putLong(img).putInt(k).array()),
                        diffs.get(k),
                        chainIds.get(k),
                        below,
                        1_764_288_000_000L);
                SignedLink link = SignedLink.sign(s, keys.get(img % keys.size()));
                out[img * layers + k] = link.encoded();
                below = link.linkId();
              }
            });
    return Arrays.asList(out);
  }

  /** Independent bottom-layer links (no predecessor lookups), signed by 16 keys on all cores. */
  static List<byte[]> presignLinks(int n) {
    List<LinkKeys.Signer> keys = new ArrayList<>();
    for (int k = 0; k < 16; k++) keys.add(LinkKeys.generate(LinkKeys.Scheme.ED25519));
    byte[][] out = new byte[n][];
    IntStream.range(0, n)
        .parallel()
        .forEach(
            i -> {
              Digest diff = Digest.sha256Of(ByteBuffer.allocate(8).putLong(i).array());
              Statement s =
                  new Statement(
                      "registry.example/load/img" + (i % 1000),
                      Digest.sha256Of(ByteBuffer.allocate(9).put((byte) 1).putLong(i).array()),
                      0,
                      Digest.sha256Of(ByteBuffer.allocate(9).put((byte) 2).putLong(i).array()),
                      diff,
                      diff,
                      Statement.NO_PREDECESSOR,
                      1_764_288_000_000L);
              out[i] = SignedLink.sign(s, keys.get(i % keys.size())).encoded();
            });
    return Arrays.asList(out);
  }

  static void deleteTree(Path p) throws IOException {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path f : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
    }
  }
}
