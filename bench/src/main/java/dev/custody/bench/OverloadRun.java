package dev.custody.bench;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.guard.Guard;
import dev.custody.server.metrics.ServerMetrics;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Overload: finds the sustainable submit rate, floods the server with many times that, then drops
 * back to a normal load. Reports offered, admitted and rejected rates, the latency of what was
 * admitted, the peak heap, and how the server does right after the flood.
 *
 * <p>Submissions are pre-signed Ed25519 layer links in the server's default mode, so that each
 * admitted one costs a signature check while a refused one costs almost nothing: that is what lets
 * one load generator on the same cores offer many times what the server can take. A refused link
 * was never logged, so it goes back into the pool and is offered again.
 */
@Command(
    name = "overload",
    mixinStandardHelpOptions = true,
    description =
        "Sustainable rate, then a flood of many times it, then normal load again (embedded server).")
final class OverloadRun implements Callable<Integer> {
  @Option(
      names = "--warmup",
      defaultValue = "10",
      description = "Seconds of warm-up. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--duration",
      defaultValue = "10",
      description = "Seconds per measured phase. Default: ${DEFAULT-VALUE}")
  int duration;

  @Option(
      names = "--flood-in-flight",
      defaultValue = "8192",
      description =
          "Submissions outstanding during the flood; each refusal is replaced at once. Default: ${DEFAULT-VALUE}")
  int floodInFlight;

  @Option(
      names = "--presign",
      defaultValue = "400000",
      description = "Links signed before the run. Default: ${DEFAULT-VALUE}")
  int presign;

  @Option(
      names = "--channels",
      defaultValue = "4",
      description = "gRPC connections for the flood. Default: ${DEFAULT-VALUE}")
  int channels;

  @Override
  public Integer call() throws Exception {
    Path tmp = Files.createTempDirectory("custody-overload");
    ConcurrentLinkedQueue<byte[]> links =
        new ConcurrentLinkedQueue<>(LoadGenerator.presignLinks(presign));
    CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(tmp).origin("bench.custody.dev/overload").anyPorts().build(),
            (n, t) -> {});
    String metrics = "http://127.0.0.1:" + server.httpPort() + "/metrics";
    TransparencyLogGrpc.TransparencyLogStub[] stubs =
        new TransparencyLogGrpc.TransparencyLogStub[channels];
    ManagedChannel[] chs = new ManagedChannel[channels];
    for (int i = 0; i < channels; i++) {
      chs[i] =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort())
              .usePlaintext()
              .directExecutor()
              .build();
      stubs[i] = TransparencyLogGrpc.newStub(chs[i]);
    }
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    AtomicLong peakHeap = new AtomicLong();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    sampler.scheduleAtFixedRate(
        () -> peakHeap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max),
        0,
        20,
        TimeUnit.MILLISECONDS);
    AtomicLong firstRefusal = new AtomicLong();
    Driver.Call submit =
        (n, done) -> {
          byte[] e = links.poll();
          if (e == null)
            throw new IllegalStateException("ran out of pre-signed links; raise --presign");
          Driver.Done recycling =
              new Driver.Done() {
                @Override
                public void ok(long tag) {
                  done.ok(tag);
                }

                @Override
                public void failed(Throwable t) {
                  if (Status.fromThrowable(t).getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                    links.add(e); // never logged
                    firstRefusal.compareAndSet(0, System.nanoTime());
                  }
                  done.failed(t);
                }
              };
          stubs[(int) (n % channels)].submit(
              SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(e)).build(),
              Driver.observer(recycling, (LogEntry r) -> r.getInclusionProof().getTreeSize()));
        };
    try {
      Driver normal = new Driver(256, 0);
      normal.run(warmup, submit);
      Driver.Phase sustained = normal.run(duration, submit);
      peakHeap.set(0);
      double[] okBefore = submitOkBuckets(metrics);
      firstRefusal.set(0);
      long floodStart = System.nanoTime();
      Driver.Phase flood = new Driver(floodInFlight, 0).run(duration, submit);
      long refusedAfter =
          firstRefusal.get() == 0 ? -1 : (firstRefusal.get() - floodStart) / 1_000_000;
      long floodHeap = peakHeap.get();
      double[] okAfter = submitOkBuckets(metrics);
      Driver.Phase after = normal.run(duration, submit);
      long maxHeap = memory.getHeapMemoryUsage().getMax();
      System.out.printf(
          "overload: Ed25519 layer links, embedded server (pushback %s), client on the same "
              + "cores, %d s per phase after %d s warm-up%n",
          Guard.DEFAULT.pushback(), duration, warmup);
      System.out.printf(
          "%-22s %10s %10s %10s %8s %8s %8s %8s%n",
          "phase",
          "offered/s",
          "admitted/s",
          "refused/s",
          "p50 ms",
          "p99 ms",
          "p99.9 ms",
          "other errors");
      for (Object[] row :
          new Object[][] {
            {"sustained (256)", sustained},
            {"flood (" + floodInFlight + ")", flood},
            {"right after (256)", after}
          }) {
        Driver.Phase p = (Driver.Phase) row[1];
        System.out.printf(
            "%-22s %10.0f %10.0f %10.0f %8.2f %8.2f %8.2f %8d%n",
            row[0],
            (p.ok() + p.errors()) / p.seconds(),
            p.perSecond(),
            p.exhausted() / p.seconds(),
            p.ms(50),
            p.ms(99),
            p.ms(99.9),
            p.errors() - p.exhausted());
      }
      System.out.printf(
          "flood offered %.1f× the sustained rate; peak heap used during the flood %d MiB of %d MiB "
              + "(client and server, sampled every 20 ms)%n",
          (flood.ok() + flood.errors()) / flood.seconds() / sustained.perSecond(),
          floodHeap >> 20,
          maxHeap >> 20);
      System.out.printf(
          "admitted during the flood, timed by the server from the call's arrival to its answer: "
              + "p99 ≤ %s s (its histogram's bucket); the rest of the client's figure is time in the two cores' "
              + "socket buffers and event loops%n",
          p99Bucket(okBefore, okAfter));
      System.out.printf(
          "first refusal %s after the flood began (the pushback interval is %d ms)%n",
          refusedAfter < 0 ? "never" : refusedAfter + " ms",
          Guard.DEFAULT.pushback().intervalMillis());
      long otherErrors = 0; // anything but a prompt refusal, in any phase
      for (Driver.Phase p : new Driver.Phase[] {sustained, flood, after})
        otherErrors += p.errors() - p.exhausted();
      return otherErrors == 0 ? 0 : 1;
    } finally {
      sampler.shutdownNow();
      for (ManagedChannel ch : chs) ch.shutdownNow();
      server.close();
      LoadGenerator.deleteTree(tmp);
    }
  }

  private static final double[] BOUNDS = ServerMetrics.LATENCY_BUCKETS;

  /** Cumulative counts of successful Submit calls per latency bucket, from the server's metrics. */
  private static double[] submitOkBuckets(String url) throws Exception {
    String text = ProofLoad.scrape(url);
    double[] out = new double[BOUNDS.length + 1];
    Matcher m =
        Pattern.compile(
                "custody_grpc_request_seconds_bucket\\{code=\"OK\",method=\"Submit\",le=\"([^\"]+)\"} (\\d+)")
            .matcher(text);
    int i = 0;
    while (m.find() && i < out.length) out[i++] = Double.parseDouble(m.group(2));
    return out;
  }

  private static String p99Bucket(double[] before, double[] after) {
    double total = after[BOUNDS.length] - before[BOUNDS.length];
    for (int i = 0; i < BOUNDS.length; i++) {
      if (after[i] - before[i] >= 0.99 * total) return Double.toString(BOUNDS[i]);
    }
    return "+Inf";
  }
}
