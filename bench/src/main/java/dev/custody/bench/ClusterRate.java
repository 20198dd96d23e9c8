package dev.custody.bench;

import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.server.cluster.ClusterCertificates;
import dev.custody.server.keys.LogKeyFile;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A three-node cluster against a single node on this machine, each node a JVM of its own, with the
 * same load after the same time since start: appends/s and their ratio, entries per proposal, and
 * the CPU time all server processes spend per appended entry (from /proc). The nodes run as an
 * operator runs them: Raft over mutual TLS, the default snapshot cadence.
 */
@Command(
    name = "cluster-rate",
    mixinStandardHelpOptions = true,
    description =
        "Appends/s of a 3-node cluster against a single node, both warm, same load, same machine.")
final class ClusterRate implements Callable<Integer> {
  private static final String ORIGIN = "cluster-rate.custody.dev/log";

  @Option(
      names = "--settle",
      defaultValue = "30",
      description =
          "Seconds between the servers' start and the load (start-up, election). Default: ${DEFAULT-VALUE}")
  int settle;

  @Option(
      names = "--warmup",
      defaultValue = "30",
      description = "Seconds of load before the measurement. Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--duration",
      defaultValue = "20",
      description = "Seconds measured. Default: ${DEFAULT-VALUE}")
  int duration;

  @Option(
      names = "--in-flight",
      defaultValue = "256",
      description = "Calls in flight. Default: ${DEFAULT-VALUE}")
  int inFlight;

  @Option(
      names = "--links",
      description =
          "Signed Ed25519 layer links, signature checks on (default: opaque entries, no checks)")
  boolean links;

  @Option(
      names = "--batch",
      defaultValue = "1",
      description = "Entries per call (SubmitBatch above 1). Default: ${DEFAULT-VALUE}")
  int batch;

  @Option(
      names = "--presign",
      defaultValue = "600000",
      description =
          "With --links: links signed before each run; enough for warm-up and measurement. "
              + "Default: ${DEFAULT-VALUE}")
  int presign;

  @Option(
      names = "--to-leader",
      description = "Send the load to the leader (default: to a follower, one hop more)")
  boolean toLeader;

  @Option(names = "--single-only", description = "Measure only the single node (to compare builds)")
  boolean singleOnly;

  @Option(names = "--cluster-only", description = "Measure only the cluster (to compare builds)")
  boolean clusterOnly;

  @Option(
      names = "--ceiling-seconds",
      defaultValue = "5",
      description = "Seconds per ceiling measured after each run. Default: ${DEFAULT-VALUE}")
  int ceilingSeconds;

  private record Server(
      String id,
      Process process,
      int grpcPort,
      CompletableFuture<String> up,
      StringBuffer output) {}

  @Override
  public Integer call() throws Exception {
    Path dir = Files.createTempDirectory("custody-cluster-rate");
    try {
      Path key = dir.resolve("log.key");
      LogKeyFile.create(key, ORIGIN);
      LoadGenerator.Figures cluster = clusterOnly || !singleOnly ? cluster(dir, key) : null;
      LoadGenerator.Figures single = singleOnly || !clusterOnly ? single(dir, key) : null;
      System.out.printf(
          "%ncluster-rate: %s, %s a call, %d in flight; measured %d s after %d s of load, %d s "
              + "after start%n",
          links ? "Ed25519 layer links, signature checks on" : "opaque entries",
          batch,
          inFlight,
          duration,
          warmup,
          settle);
      System.out.printf(
          "%-32s %10s %7s %17s %26s%n",
          "", "appends/s", "ratio", "entries/proposal", "CPU/entry, all servers");
      if (single != null) row("single node", single, single);
      if (cluster != null)
        row("3 nodes, load to the " + (toLeader ? "leader" : "follower"), cluster, single);
      return 0;
    } finally {
      LoadGenerator.deleteTree(dir);
    }
  }

  private static void row(String name, LoadGenerator.Figures f, LoadGenerator.Figures base) {
    System.out.printf(
        "%-32s %10.0f %7s %17.1f %20.2f verif.%n",
        name,
        f.perSecond(),
        base == null ? "-" : String.format("%.2f", f.perSecond() / base.perSecond()),
        f.entriesPerBatch(),
        f.cpuPerEntry());
  }

  private LoadGenerator.Figures cluster(Path dir, Path key) throws Exception {
    List<String> ids = List.of("n1", "n2", "n3");
    Path certs = dir.resolve("raft-certs");
    ClusterCertificates.write(certs, ids);
    List<String> peers = new ArrayList<>();
    for (String id : ids) peers.add(id + "=127.0.0.1:" + freePort());
    List<Server> nodes = new ArrayList<>();
    try {
      for (String id : ids) {
        nodes.add(
            start(
                id,
                dir,
                key,
                "--node-id",
                id,
                "--peers",
                String.join(",", peers),
                "--raft-tls-cert",
                certs.resolve(id + ".pem").toString(),
                "--raft-tls-key",
                certs.resolve(id + ".key").toString(),
                "--raft-tls-ca",
                certs.resolve("ca.pem").toString()));
      }
      // All three started before any is waited for: a node that came up after the other two had
      // committed would be refused as one that lost its storage.
      for (Server n : nodes) n.up.get(60, TimeUnit.SECONDS);
      Thread.sleep(TimeUnit.SECONDS.toMillis(settle));
      Server target = null;
      for (Server n : nodes) if (isLeader(n) == toLeader) target = n;
      if (target == null) throw new IllegalStateException("no node in the role asked for");
      return load(target, nodes);
    } finally {
      for (Server n : nodes) n.process.destroy();
      for (Server n : nodes) stop(n);
    }
  }

  private LoadGenerator.Figures single(Path dir, Path key) throws Exception {
    Server s = start("single", dir, key);
    try {
      s.up.get(60, TimeUnit.SECONDS);
      Thread.sleep(TimeUnit.SECONDS.toMillis(settle));
      return load(s, List.of(s));
    } finally {
      s.process.destroy();
      stop(s);
    }
  }

  private LoadGenerator.Figures load(Server target, List<Server> servers) throws Exception {
    List<String> pids = new ArrayList<>();
    for (Server s : servers) pids.add(Long.toString(s.process.pid()));
    List<String> args =
        new ArrayList<>(
            List.of(
                "--target",
                "127.0.0.1:" + target.grpcPort,
                "--warmup",
                Integer.toString(warmup),
                "--duration",
                Integer.toString(duration),
                "--in-flight",
                Integer.toString(inFlight),
                "--batch",
                Integer.toString(batch),
                "--server-pid",
                String.join(",", pids),
                "--ceiling-seconds",
                Integer.toString(ceilingSeconds)));
    if (links) args.addAll(List.of("--links", "--presign", Integer.toString(presign)));
    System.out.println("== load on " + target.id + " (" + servers.size() + " server processes)");
    try {
      return LoadGenerator.run(args.toArray(String[]::new));
    } catch (Exception e) {
      // A server that died under the load says why in its output.
      for (Server s : servers) {
        if (!s.process.isAlive()) {
          System.out.println(
              "== "
                  + s.id
                  + " exited with "
                  + s.process.exitValue()
                  + ":\n"
                  + ServerProcesses.tail(s.output));
        }
      }
      throw e;
    }
  }

  private Server start(String id, Path dir, Path key, String... more) throws Exception {
    int grpc = freePort();
    List<String> args =
        new ArrayList<>(
            List.of(
                "--data-dir",
                dir.resolve(id).toString(),
                "--grpc-port",
                Integer.toString(grpc),
                "--http-port",
                Integer.toString(freePort()),
                "--bind-address",
                "127.0.0.1",
                "--origin",
                ORIGIN,
                "--key-file",
                key.toString()));
    if (!links) args.add("--accept-any-entry");
    args.addAll(List.of(more));
    Process p = new ProcessBuilder(ServerProcesses.command(args)).redirectErrorStream(true).start();
    StringBuffer output = new StringBuffer();
    return new Server(id, p, grpc, ServerProcesses.watch(p, id, output), output);
  }

  /** Waits for a server asked to stop (SIGTERM, so that a profiler's recording is written). */
  private static void stop(Server n) throws InterruptedException {
    if (!n.process.waitFor(30, TimeUnit.SECONDS)) n.process.destroyForcibly().waitFor();
  }

  private static boolean isLeader(Server n) {
    ManagedChannel ch =
        ManagedChannelBuilder.forAddress("127.0.0.1", n.grpcPort).usePlaintext().build();
    try {
      return TransparencyLogGrpc.newBlockingStub(ch)
          .withDeadlineAfter(2, TimeUnit.SECONDS)
          .getLogInfo(GetLogInfoRequest.getDefaultInstance())
          .getRole()
          .equals("leader");
    } catch (StatusRuntimeException e) {
      return false;
    } finally {
      ch.shutdownNow();
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
