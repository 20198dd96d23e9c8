package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.server.keys.LogKeyFile;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster node whose disk fails under it (its data folder removed while it runs) backs off its
 * snapshots instead of retrying them in a loop, and a SIGTERM still ends it within 10 s: a node an
 * operator cannot stop cannot be replaced.
 */
class ClusterStopIT {
  @TempDir Path dir;

  @Test
  void aNodeWhoseSnapshotsFailBacksOffAndStopsWithinTenSeconds() throws Exception {
    String origin = "stop.custody.dev/log";
    Path key = dir.resolve("log.key");
    LogKeyFile.create(key, origin);
    int raft;
    try (ServerSocket s = new ServerSocket(0)) {
      raft = s.getLocalPort();
    }
    Path data = dir.resolve("data");
    try (ChildServer node =
        ChildServer.start(
            data,
            256,
            "--accept-any-entry",
            "--origin",
            origin,
            "--key-file",
            key.toString(),
            "--node-id",
            "n1",
            "--peers",
            "n1=127.0.0.1:" + raft,
            "--raft-plaintext",
            "--snapshot-every",
            "1")) {
      assertTrue(node.output().contains("WITHOUT TLS"), node.output());
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", node.grpcPort).usePlaintext().build();
      try {
        var log = TransparencyLogGrpc.newBlockingStub(ch);
        submitSome(log, 0, 20);
        try (var files = Files.walk(data)) {
          for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator)
            Files.deleteIfExists(p);
        }
        // Snapshots come at most every 10 s: keep writing past the next one.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(13);
        for (int i = 20; System.nanoTime() < until; i++) {
          submitSome(log, i, i + 1);
          Thread.sleep(100);
        }
        long failed = metric(node.httpPort, "custody_cluster_failed_snapshots");
        assertTrue(failed >= 1, "the snapshots failed: " + failed + "\n" + node.output());
        assertTrue(failed <= 3, "snapshots retried in a loop: " + failed);
        // Idle, the node spends next to no CPU: no thread retries anything in a loop.
        long cpu0 = cpuTicks(node.process.pid());
        Thread.sleep(3_000);
        long cpu = cpuTicks(node.process.pid()) - cpu0;
        assertTrue(cpu < 60, "idle but busy: " + cpu + " ticks of CPU in 3 s");
        assertTrue(metric(node.httpPort, "custody_cluster_raft_plaintext") == 1);
      } finally {
        ch.shutdownNow();
      }
      long t0 = System.nanoTime();
      boolean ended = node.terminate(10);
      assertTrue(
          ended,
          "SIGTERM did not end the node within 10 s\n"
              + node.output().substring(Math.max(0, node.output().length() - 4000)));
      System.out.println(
          "stopped in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms");
    }
  }

  private static void submitSome(
      TransparencyLogGrpc.TransparencyLogBlockingStub log, int from, int to) {
    for (int i = from; i < to; i++) {
      try {
        log.withDeadlineAfter(5, TimeUnit.SECONDS)
            .submit(
                SubmitRequest.newBuilder().setEntry(ByteString.copyFromUtf8("entry " + i)).build());
      } catch (StatusRuntimeException failing) {
        // after the disk went away, writes may fail: what matters here is the stop
      }
    }
  }

  /** utime + stime of a process, in clock ticks (/proc/PID/stat, fields 14 and 15). */
  private static long cpuTicks(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  private static long metric(int port, String name) throws Exception {
    String text =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(5))
                    .build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))
            .body();
    Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.eE+]+)$").matcher(text);
    assertTrue(m.find(), name + " not in /metrics");
    return (long) Double.parseDouble(m.group(1));
  }
}
