package dev.custody.bench;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.server.CustodyServer;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Closed-loop submit load over gRPC on loopback: a fixed number of submissions in flight, each
 * timed from send to the returned proof. Reports appends/s, latency percentiles, and the batches
 * the sequencer formed (distinct checkpoint sizes in the answers).
 */
@Command(name = "load", mixinStandardHelpOptions = true,
    description = "Submit load against a server (an embedded one in a temp dir unless --target is given).")
final class LoadGenerator implements Callable<Integer> {
  @Option(names = "--target", description = "host:port of a running server; default: start one in-process")
  String target;

  @Option(names = "--in-flight", defaultValue = "256", description = "Submissions in flight. Default: ${DEFAULT-VALUE}")
  int inFlight;

  @Option(names = "--warmup", defaultValue = "10", description = "Seconds of warm-up, not measured. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(names = "--duration", defaultValue = "20", description = "Seconds measured. Default: ${DEFAULT-VALUE}")
  int duration;

  @Option(names = "--entry-bytes", defaultValue = "256", description = "Bytes per opaque entry. Default: ${DEFAULT-VALUE}")
  int entryBytes;

  @Option(names = "--rate", defaultValue = "0", description = "Open loop: offer this many submissions per second "
      + "whatever the answers (latency from the intended send time, so a stall is not hidden); 0 = closed loop "
      + "with --in-flight outstanding. Default: ${DEFAULT-VALUE}")
  int rate;

  @Option(names = "--links", description = "Submit pre-signed Ed25519 layer links (signature checks on) instead of "
      + "opaque entries; the embedded server then runs in its default, layer-link mode")
  boolean links;

  @Option(names = "--presign", defaultValue = "400000",
      description = "With --links: links signed before the run (signing is not measured). Default: ${DEFAULT-VALUE}")
  int presign;

  private java.util.List<byte[]> signed;

  @Override public Integer call() throws Exception {
    Path tmp = null;
    CustodyServer server = null;
    String host = "127.0.0.1";
    int port;
    if (target == null) {
      tmp = Files.createTempDirectory("custody-load");
      server = CustodyServer.start(new CustodyServer.Config(tmp, Optional.of("bench.custody.dev/load"), Optional.empty(),
          "127.0.0.1", 0, -1, Optional.empty(), !links, 16384, 4096), (n, t) -> { });
      port = server.grpcPort();
    } else {
      host = target.substring(0, target.lastIndexOf(':'));
      port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
    }
    // Callbacks only record a number: running them on the transport thread avoids a hand-off per call.
    if (links) signed = presignLinks(presign);
    ManagedChannel ch = ManagedChannelBuilder.forAddress(host, port).usePlaintext().directExecutor().build();
    try {
      TransparencyLogGrpc.TransparencyLogStub stub = TransparencyLogGrpc.newStub(ch);
      Phase w = run(stub, warmup);
      Phase m = run(stub, duration);
      Histogram h = m.latency;
      System.out.printf("load: %s, %s, %d s measured after %d s warm-up (%s)%n",
          links ? "Ed25519 layer links, signature checks on" : "opaque entries of " + entryBytes + " B",
          rate > 0 ? "open loop at " + rate + "/s" : inFlight + " in flight",
          duration, warmup, target == null ? "embedded server" : target);
      System.out.printf("%-14s %10s %8s %8s %8s %8s %8s %10s %8s%n",
          "phase", "appends/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "batches", "entries/batch");
      for (Phase p : new Phase[] {w, m}) {
        System.out.printf("%-14s %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f %10d %8.1f%n", p == w ? "warm-up" : "measured",
            p.ok / p.seconds, ms(p.latency, 50), ms(p.latency, 90), ms(p.latency, 99), ms(p.latency, 99.9),
            p.latency.getMaxValue() / 1e6, p.batches, p.batches == 0 ? 0 : (double) p.ok / p.batches);
      }
      System.out.printf("errors: %d (RESOURCE_EXHAUSTED %d)%n", m.errors, m.exhausted);
      return m.errors == 0 ? 0 : 1;
    } finally {
      ch.shutdownNow();
      if (server != null) server.close();
      if (tmp != null) deleteTree(tmp);
    }
  }

  private static double ms(Histogram h, double pct) {
    return h.getValueAtPercentile(pct) / 1e6;
  }

  private record Phase(double seconds, long ok, long errors, long exhausted, long batches, Histogram latency) {}

  private final AtomicLong counter = new AtomicLong();

  private Phase run(TransparencyLogGrpc.TransparencyLogStub stub, int seconds) throws InterruptedException {
    Recorder rec = new Recorder(3);
    Semaphore permits = new Semaphore(inFlight);
    LongAdder ok = new LongAdder();
    LongAdder errors = new LongAdder();
    LongAdder exhausted = new LongAdder();
    Set<Long> sizes = ConcurrentHashMap.newKeySet();
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    long sent = 0;
    while (System.nanoTime() < end) {
      long intended;
      if (rate > 0) {
        // Open loop: the k-th send is due at start + k / rate, answered or not.
        intended = start + (long) (sent * 1e9 / rate);
        long wait = intended - System.nanoTime();
        if (wait > 0) LockSupport.parkNanos(wait);
        if (!permits.tryAcquire()) { // more than --in-flight outstanding: the server cannot keep up
          errors.increment();
          sent++;
          continue;
        }
        sent++;
      } else {
        if (!permits.tryAcquire(10, TimeUnit.MILLISECONDS)) continue;
        intended = System.nanoTime();
      }
      long n = counter.incrementAndGet();
      byte[] e;
      if (links) {
        if (n > signed.size()) throw new IllegalStateException("ran out of pre-signed links; raise --presign");
        e = signed.get((int) n - 1);
      } else {
        e = new byte[entryBytes];
        ByteBuffer.wrap(e).putLong(System.nanoTime()).putLong(n);
      }
      long t0 = intended;
      stub.submit(SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(e)).build(), new StreamObserver<>() {
        @Override public void onNext(LogEntry r) {
          rec.recordValue(System.nanoTime() - t0);
          sizes.add(r.getInclusionProof().getTreeSize());
          ok.increment();
        }

        @Override public void onError(Throwable t) {
          errors.increment();
          if (Status.fromThrowable(t).getCode() == Status.Code.RESOURCE_EXHAUSTED) exhausted.increment();
          permits.release();
        }

        @Override public void onCompleted() {
          permits.release();
        }
      });
    }
    permits.acquire(inFlight); // let the last ones land, so that every send is counted
    permits.release(inFlight);
    double secs = (System.nanoTime() - start) / 1e9;
    return new Phase(secs, ok.sum(), errors.sum(), exhausted.sum(), sizes.size(), rec.getIntervalHistogram());
  }

  /** Independent bottom-layer links (no predecessor lookups), signed by 16 keys on all cores. */
  private static java.util.List<byte[]> presignLinks(int n) {
    java.util.List<dev.custody.chain.LinkKeys.Signer> keys = new java.util.ArrayList<>();
    for (int k = 0; k < 16; k++) keys.add(dev.custody.chain.LinkKeys.generate(dev.custody.chain.LinkKeys.Scheme.ED25519));
    byte[][] out = new byte[n][];
    java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
      dev.custody.chain.Digest diff = dev.custody.chain.Digest.sha256Of(ByteBuffer.allocate(8).putLong(i).array());
      dev.custody.chain.Statement s = new dev.custody.chain.Statement("registry.example/load/img" + (i % 1000),
          dev.custody.chain.Digest.sha256Of(ByteBuffer.allocate(9).put((byte) 1).putLong(i).array()), 0,
          dev.custody.chain.Digest.sha256Of(ByteBuffer.allocate(9).put((byte) 2).putLong(i).array()), diff, diff,
          dev.custody.chain.Statement.NO_PREDECESSOR, 1_764_288_000_000L);
      out[i] = dev.custody.chain.SignedLink.sign(s, keys.get(i % keys.size())).encoded();
    });
    return java.util.Arrays.asList(out);
  }

  static void deleteTree(Path p) throws java.io.IOException {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path f : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
    }
  }
}
