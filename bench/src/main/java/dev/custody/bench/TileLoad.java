package dev.custody.bench;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.tiles.TilePath;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Tile reads over HTTP on loopback: fills an embedded log, then requests random full level-0 tiles
 * (8 KiB) and counts answered requests per second. The JDK's HttpClient is the limit here (about
 * 1,500/s); for the server's own figure use wrk with bench/wrk/tiles.lua (BENCHMARKS.md). This
 * command stays as the check that the read path works under concurrency.
 */
@Command(
    name = "tiles",
    mixinStandardHelpOptions = true,
    description = "HTTP tile requests per second against an embedded log.")
final class TileLoad implements Callable<Integer> {
  @Option(
      names = "--entries",
      defaultValue = "100000",
      description = "Log size to serve. Default: ${DEFAULT-VALUE}")
  int entries;

  @Option(
      names = "--in-flight",
      defaultValue = "64",
      description = "Requests in flight. Default: ${DEFAULT-VALUE}")
  int inFlight;

  @Option(
      names = "--warmup",
      defaultValue = "5",
      description = "Seconds not measured. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--duration",
      defaultValue = "15",
      description = "Seconds measured. Default: ${DEFAULT-VALUE}")
  int duration;

  @Override
  public Integer call() throws Exception {
    Path tmp = Files.createTempDirectory("custody-tiles");
    try (CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(tmp)
                .origin("bench.custody.dev/tiles")
                .anyPorts()
                .acceptAnyEntry(true)
                .build(),
            (n, t) -> {})) {
      fill(server.grpcPort());
      URI base = URI.create("http://127.0.0.1:" + server.httpPort() + "/");
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      run(http, base, warmup);
      double rate = run(http, base, duration);
      System.out.printf(
          "tiles: %d entries, random full level-0 tiles (8 KiB), %d in flight, JDK HttpClient on the same cores%n",
          entries, inFlight);
      System.out.printf(
          "%-14s %10.0f requests/s (%.0f MiB/s)%n", "measured", rate, rate * 8192 / (1 << 20));
    } finally {
      LoadGenerator.deleteTree(tmp);
    }
    return 0;
  }

  private double run(HttpClient http, URI base, int seconds) throws InterruptedException {
    int fullTiles = entries / 256;
    Semaphore permits = new Semaphore(inFlight);
    LongAdder ok = new LongAdder();
    LongAdder failed = new LongAdder();
    long t0 = System.nanoTime();
    long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < end) {
      if (!permits.tryAcquire(10, TimeUnit.MILLISECONDS)) continue;
      long n = ThreadLocalRandom.current().nextInt(fullTiles);
      HttpRequest req =
          HttpRequest.newBuilder(base.resolve(TilePath.tile(0, n, 256).format())).GET().build();
      http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray())
          .whenComplete(
              (r, e) -> {
                if (e == null && r.statusCode() == 200 && r.body().length == 8192) ok.increment();
                else failed.increment();
                permits.release();
              });
    }
    permits.acquire(inFlight);
    permits.release(inFlight);
    if (failed.sum() > 0) throw new IllegalStateException(failed.sum() + " tile requests failed");
    return ok.sum() / ((System.nanoTime() - t0) / 1e9);
  }

  private void fill(int grpcPort) throws InterruptedException {
    ManagedChannel ch =
        ManagedChannelBuilder.forAddress("127.0.0.1", grpcPort)
            .usePlaintext()
            .directExecutor()
            .build();
    Semaphore permits = new Semaphore(512);
    var stub = TransparencyLogGrpc.newStub(ch);
    for (int i = 0; i < entries; i++) {
      permits.acquire();
      stub.submit(
          SubmitRequest.newBuilder()
              .setEntry(ByteString.copyFrom(ByteBuffer.allocate(8).putLong(i).array()))
              .build(),
          new StreamObserver<LogEntry>() {
            @Override
            public void onNext(LogEntry e) {}

            @Override
            public void onError(Throwable t) {
              permits.release();
            }

            @Override
            public void onCompleted() {
              permits.release();
            }
          });
    }
    permits.acquire(512);
    ch.shutdownNow();
  }
}
