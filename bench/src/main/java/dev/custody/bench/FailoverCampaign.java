package dev.custody.bench;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.cluster.ClusterCertificates;
import dev.custody.server.keys.LogKeyFile;
import dev.custody.tiles.TileClient;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Three cluster nodes as real processes, concurrent submitters spread over all of them (each moves
 * to another node and retries with backoff when its node fails it, as clients do), and the leader
 * killed with SIGKILL at random moments, then restarted with its data. Some rounds freeze the
 * leader instead (SIGSTOP for a few seconds, then SIGCONT): cut off from the others as by a
 * partition, it comes back behind a newer term. Nodes snapshot every few batches, so a restarted
 * node usually catches up by snapshot. After the last round every node is checked as an outside
 * client checks a log ({@link Promises}): every acknowledged entry at its index, one root per size,
 * every checkpoint consistent with the latest, the same latest checkpoint on every node. Prints the
 * longest gap between acknowledgements around each failure (the failover time).
 *
 * <p>One campaign in one file, though long: its rounds, the submitters and the final audit share
 * the processes' handles and the record of acknowledgements, and a reader follows one run of it top
 * to bottom.
 */
@Command(
    name = "failover",
    mixinStandardHelpOptions = true,
    description =
        "Cluster campaign: three node processes under load, the leader killed (or frozen) at random moments.")
public final class FailoverCampaign implements Callable<Integer> {
  private static final String ORIGIN = "failover.custody.dev/log";

  @Option(
      names = "--kills",
      defaultValue = "20",
      description = "Leader SIGKILLs. Default: ${DEFAULT-VALUE}")
  int kills;

  @Option(
      names = "--freezes",
      defaultValue = "2",
      description =
          "Rounds that freeze the leader (SIGSTOP) instead. " + "Default: ${DEFAULT-VALUE}")
  int freezes;

  @Option(
      names = "--freeze-ms",
      defaultValue = "3000",
      description = "How long a frozen leader stays frozen. " + "Default: ${DEFAULT-VALUE}")
  int freezeMs;

  @Option(
      names = "--partitions",
      defaultValue = "0",
      description =
          "Rounds that cut the leader off the network "
              + "(its link down, both ways) instead. Runs every node in a network namespace of its own: needs root and "
              + "iproute2. Default: ${DEFAULT-VALUE}")
  int partitions;

  @Option(
      names = "--partition-ms",
      defaultValue = "3000",
      description = "How long a partition lasts. " + "Default: ${DEFAULT-VALUE}")
  int partitionMs;

  @Option(
      names = "--clients",
      defaultValue = "12",
      description = "Concurrent submitters. Default: ${DEFAULT-VALUE}")
  int clients;

  @Option(
      names = "--max-load-ms",
      defaultValue = "2000",
      description = "Longest load before a failure. " + "Default: ${DEFAULT-VALUE}")
  int maxLoadMs;

  @Option(
      names = "--down-ms",
      defaultValue = "1500",
      description = "How long a killed node stays down. " + "Default: ${DEFAULT-VALUE}")
  int downMs;

  @Option(
      names = "--long-down-ms",
      defaultValue = "12000",
      description =
          "How long every third killed node stays "
              + "down: longer than the nodes' 10 s between snapshots, so that it comes back behind a snapshot and catches up "
              + "by it. Default: ${DEFAULT-VALUE}")
  int longDownMs;

  @Option(
      names = "--snapshot-every",
      defaultValue = "20",
      description =
          "Raft entries between snapshots on each "
              + "node (small, so that a node that was down catches up by snapshot). Default: ${DEFAULT-VALUE}")
  int snapshotEvery;

  @Option(
      names = "--export",
      description =
          "Have the nodes export to this bucket (s3://BUCKET/PREFIX, with "
              + "--s3-endpoint; credentials from the AWS SDK's default chain, passed on to the nodes): the campaign then also "
              + "checks every acknowledged entry in the bucket and prints how far the export trails the leader")
  String export;

  @Option(names = "--s3-endpoint", description = "The S3-compatible store's URL")
  URI s3Endpoint;

  @Option(
      names = "--compare-seconds",
      defaultValue = "0",
      description =
          "First measure appends/s on the cluster "
              + "(submitting to a follower) and then on a single node, this long each, with the same load (256 in flight); "
              + "0 skips it. Default: ${DEFAULT-VALUE}")
  int compareSeconds;

  @Option(
      names = "--seed",
      description = "Random seed (printed, to replay a campaign); default: the clock")
  Long seed;

  @Option(
      names = "--raft-plaintext",
      description =
          "Run the nodes' Raft ports without TLS (to compare with the default, mutual TLS with "
              + "certificates made for the run)")
  boolean raftPlaintext;

  @Option(
      names = "--data-dir",
      description = "Where the nodes keep their data; default: a temp dir, deleted afterwards")
  Path dataDir;

  /** One node: its fixed ports (kept across restarts) and its current process. */
  private static final class Node {
    final String id;
    final int host; // 1-based: its namespace, when there are namespaces
    final String address;
    final Path dir;
    final int grpcPort;
    final int httpPort;
    final StringBuffer output = new StringBuffer();
    Process process;
    volatile ManagedChannel channel;
    volatile TransparencyLogGrpc.TransparencyLogBlockingStub log;
    CompletableFuture<String> listening;

    Node(String id, int host, String address, Path dir, int grpcPort, int httpPort) {
      this.id = id;
      this.host = host;
      this.address = address;
      this.dir = dir;
      this.grpcPort = grpcPort;
      this.httpPort = httpPort;
    }
  }

  private final List<Node> nodes = new ArrayList<>();
  private double clusterRate;
  private double singleRate;
  private final List<Long> exportLag = Collections.synchronizedList(new ArrayList<>());
  private TileClient bucket;
  private final NavigableSet<Long> ackTimes = new ConcurrentSkipListSet<>();
  private Promises promises;
  private String peers;
  private Path keyFile;
  private Path certs; // the cluster's certificates; null with --raft-plaintext
  private Netns net; // the nodes' hosts, with --partitions

  @Override
  public Integer call() throws Exception {
    long s = seed != null ? seed : System.nanoTime();
    Random rnd = new Random(s);
    Path dir = dataDir != null ? dataDir : Files.createTempDirectory("custody-failover");
    keyFile = dir.resolve("log.key");
    Ed25519NoteKeys.Signer key =
        Files.exists(keyFile) ? LogKeyFile.read(keyFile) : LogKeyFile.create(keyFile, ORIGIN);
    promises = new Promises(new CheckpointVerifier(ORIGIN, key.verifier()));
    List<String> p = new ArrayList<>();
    if (partitions > 0 && export != null) {
      // The nodes' namespaces reach the campaign's host only at the bridge's address, not at
      // 127.0.0.1.
      throw new IllegalArgumentException(
          "--partitions and --export do not go together yet; run them apart");
    }
    if (partitions > 0) net = new Netns(3);
    for (int i = 1; i <= 3; i++) {
      if (net != null) { // a host each: the same ports on every host
        nodes.add(new Node("n" + i, i, net.address(i), dir.resolve("n" + i), 7300, 7301));
        p.add("n" + i + "=" + net.address(i) + ":9100");
      } else {
        nodes.add(new Node("n" + i, i, "127.0.0.1", dir.resolve("n" + i), freePort(), freePort()));
        p.add("n" + i + "=127.0.0.1:" + freePort());
      }
    }
    peers = String.join(",", p);
    if (!raftPlaintext) {
      certs = dir.resolve("raft-certs");
      if (!Files.exists(certs.resolve("ca.pem")))
        ClusterCertificates.write(certs, nodes.stream().map(n -> n.id).toList());
    }
    System.out.println("raft transport: " + (raftPlaintext ? "plaintext" : "mutual TLS"));
    if (export != null) bucket = new TileClient(bucketFetcher(), promises.verifier());
    List<Double> gaps = new ArrayList<>();
    List<Double> freezeGaps = new ArrayList<>();
    List<Double> partitionGaps = new ArrayList<>();
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    long t0 = System.nanoTime();
    try {
      for (Node n : nodes) start(n, false);
      for (Node n : nodes) awaitListening(n);
      Node first = leader(30);
      if (compareSeconds > 0) {
        Node follower = nodes.stream().filter(n -> n != first).findFirst().orElseThrow();
        clusterRate =
            LoadGenerator.appendsPerSecond(
                follower.address + ":" + follower.grpcPort, 3, compareSeconds, 256);
      }
      AtomicLong counter = new AtomicLong();
      for (int c = 0; c < clients; c++) {
        int me = c;
        pool.execute(() -> submitLoop(me, s, counter, stop));
      }
      ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
      if (bucket != null)
        sampler.scheduleWithFixedDelay(this::sampleExportLag, 500, 250, TimeUnit.MILLISECONDS);
      // The rounds, in an order drawn from the seed: kills, freezes and partitions mixed.
      List<String> rounds = new ArrayList<>();
      for (int k = 0; k < kills; k++) rounds.add("kill");
      for (int k = 0; k < freezes; k++) rounds.add("freeze");
      for (int k = 0; k < partitions; k++) rounds.add("partition");
      Collections.shuffle(rounds, rnd);
      for (String round : rounds) {
        Thread.sleep(300 + rnd.nextInt(Math.max(1, maxLoadMs - 300)));
        Node leader = leader(30);
        long at = System.nanoTime();
        if (round.equals("partition")) {
          net.cut(leader.host);
          Thread.sleep(partitionMs);
          net.heal(leader.host);
          partitionGaps.add(gapAfter(at, 20));
          caughtUp(
              leader,
              60); // the old leader steps down, drops what it could not commit, and catches up
        } else if (round.equals("freeze")) {
          signal("STOP", leader);
          Thread.sleep(freezeMs);
          signal("CONT", leader);
          freezeGaps.add(gapAfter(at, 20));
        } else {
          leader.process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
          leader.channel.shutdownNow();
          if (Boolean.getBoolean("custody.failover.trace")) {
            Node next = leader(30);
            System.out.printf(
                "new leader %s after %.2f s%n", next.id, (System.nanoTime() - at) / 1e9);
          }
          gaps.add(gapAfter(at, 20));
          Thread.sleep(gaps.size() % 3 == 2 ? longDownMs : downMs);
          start(leader, true);
          awaitListening(leader);
          // The next failure is measured on a whole cluster: with this node still catching up,
          // losing another would
          // leave no majority, which is Raft working as it should, not failover time.
          caughtUp(leader, 60);
        }
      }
      Thread.sleep(500);
      stop.set(true);
      pool.shutdown();
      if (!pool.awaitTermination(60, TimeUnit.SECONDS)) promises.violation("submitters hung");
      sampler.shutdownNow();
      converge();
      if (bucket != null) checkBucket();
      if (compareSeconds > 0) {
        for (Node n : nodes)
          n.process.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // the single node runs alone
        singleRate = singleNodeRate(dir.resolve("single"));
      }
    } finally {
      stop.set(true);
      pool.shutdownNow();
      for (Node n : nodes) {
        if (n.channel != null) n.channel.shutdownNow();
        if (n.process != null) n.process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
      if (net != null) net.close();
      if (dataDir == null) {
        LoadGenerator.deleteTree(dir);
      } else {
        for (Node n : nodes) Files.writeString(dir.resolve(n.id + ".log"), n.output);
      }
    }
    long snapshotCatchUps =
        nodes.stream()
            .mapToLong(n -> count(n.output.toString(), "caught up from the snapshot"))
            .sum();
    System.out.printf(
        "failover: seed %d, %d leader kills, %d freezes of %d ms, %d partitions of %d ms, %d acknowledged "
            + "entries, %d checkpoints checked, %d catch-ups by snapshot, %.0f s%n",
        s,
        gaps.size(),
        freezeGaps.size(),
        freezeMs,
        partitionGaps.size(),
        partitionMs,
        promises.acked.size(),
        promises.checkpoints.size(),
        snapshotCatchUps,
        (System.nanoTime() - t0) / 1e9);
    if (compareSeconds > 0) {
      System.out.printf(
          "appends/s, 256 in flight, %d s each: 3-node cluster %.0f (to a follower), single node %.0f: "
              + "ratio %.2f%n",
          compareSeconds, clusterRate, singleRate, clusterRate / singleRate);
    }
    System.out.println(
        "longest gap between acknowledgements after a leader kill (s): " + summary(gaps));
    if (!freezeGaps.isEmpty())
      System.out.println(
          "... after freezing the leader for " + freezeMs + " ms (s): " + summary(freezeGaps));
    if (!partitionGaps.isEmpty()) {
      System.out.println(
          "... after cutting the leader off the network for "
              + partitionMs
              + " ms (s): "
              + summary(partitionGaps));
    }
    if (bucket != null) {
      System.out.println(
          "export lag behind the largest node (entries, sampled every 250 ms): "
              + summary(exportLag.stream().map(Long::doubleValue).toList()).replace(".00", ""));
    }
    System.out.println(
        "acknowledged entries lost: "
            + lost()
            + ", forks: "
            + forks()
            + ", violations: "
            + promises.violations.size());
    if (promises.acked.size() < 10L * Math.max(1, kills)) {
      System.out.println("too few acknowledged entries to mean anything: " + promises.acked.size());
      return 1;
    }
    return promises.violations.isEmpty() ? 0 : 1;
  }

  /**
   * Submits distinct entries; on any failure moves to the next node, backs off, and retries the
   * same entry.
   */
  private void submitLoop(int client, long seed, AtomicLong counter, AtomicBoolean stop) {
    Random jitter = new Random(seed + client);
    int k = client % nodes.size();
    while (!stop.get()) {
      ByteString entry =
          ByteString.copyFrom(
              ByteBuffer.allocate(16).putLong(seed).putLong(counter.incrementAndGet()).array());
      for (int attempt = 0; !stop.get(); attempt++) {
        Node n = nodes.get(k);
        TransparencyLogGrpc.TransparencyLogBlockingStub log = n.log;
        try {
          LogEntry e =
              log.withDeadlineAfter(2, TimeUnit.SECONDS)
                  .submit(SubmitRequest.newBuilder().setEntry(entry).build());
          ackTimes.add(System.nanoTime());
          promises.acknowledged(e);
          break;
        } catch (StatusRuntimeException ex) {
          // The node answered "not now" (an election: every node says so alike): stay, back off. It
          // did not answer,
          // or not in time (down, frozen): try the next node.
          if (!answeredByServer(ex)) k = (k + 1) % nodes.size();
          sleep(
              Math.min(200, 20L << Math.min(attempt, 4))
                  + jitter.nextInt(20)); // 20 ms doubling to 200 ms, jittered
        }
      }
    }
  }

  /**
   * A refusal the server itself gave (our servers say that resubmitting is idempotent), not a
   * transport failure.
   */
  private static boolean answeredByServer(StatusRuntimeException e) {
    String d = e.getStatus().getDescription();
    return d != null && d.contains("submitting again is idempotent");
  }

  /**
   * The longest gap between consecutive acknowledgements from the last one before the failure at
   * {@code at} until they flow again (five within 200 ms, starting 300 ms or more after the
   * failure: submissions already committed finish within 100 ms of it, and are not a recovery),
   * waiting at most {@code seconds}: the time the cluster was unavailable to writers.
   */
  private double gapAfter(long at, int seconds) throws InterruptedException {
    long end = at + TimeUnit.SECONDS.toNanos(seconds);
    long recovered = -1;
    while (recovered < 0 && System.nanoTime() < end) {
      Thread.sleep(20);
      for (Long t : ackTimes.tailSet(at + 300_000_000L, true)) {
        if (ackTimes.subSet(t, true, t + 200_000_000L, true).size() >= 5) {
          recovered = t;
          break;
        }
      }
    }
    if (Boolean.getBoolean("custody.failover.trace")) {
      Thread.sleep(3000);
      StringBuilder b = new StringBuilder("acks per 100 ms from the failure:");
      for (int i = 0; i < 40; i++)
        b.append(' ')
            .append(ackTimes.subSet(at + i * 100_000_000L, at + (i + 1) * 100_000_000L).size());
      System.out.println(b);
    }
    if (recovered < 0) {
      promises.violation("acknowledgements did not resume within " + seconds + " s of a failure");
      return seconds;
    }
    Long prev = ackTimes.floor(at);
    long worst = 0;
    for (Long t : ackTimes.subSet(at, true, recovered, true)) {
      if (prev != null) worst = Math.max(worst, t - prev);
      prev = t;
    }
    return worst / 1e9;
  }

  /**
   * The same load on one node of its own (the single-node default), in a process like the cluster's
   * nodes.
   */
  private double singleNodeRate(Path dir) throws Exception {
    Node single = new Node("single", 0, "127.0.0.1", dir, freePort(), freePort());
    single.process =
        server(single)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < end) {
        try (Socket s = new Socket("127.0.0.1", single.grpcPort)) {
          break;
        } catch (IOException notYet) {
          Thread.sleep(100);
        }
      }
      return LoadGenerator.appendsPerSecond("127.0.0.1:" + single.grpcPort, 3, compareSeconds, 256);
    } finally {
      single.process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** Reads the bucket with the AWS SDK, as a mirror would. */
  private TileClient.Fetcher bucketFetcher() {
    URI u = URI.create(export);
    String prefix = u.getPath().replaceAll("^/+", "");
    String pre = prefix.isEmpty() || prefix.endsWith("/") ? prefix : prefix + "/";
    var b =
        S3Client.builder().region(Region.US_EAST_1).httpClient(UrlConnectionHttpClient.create());
    if (s3Endpoint != null) b.endpointOverride(s3Endpoint).forcePathStyle(true);
    var s3 = b.build();
    try {
      s3.createBucket(
          r -> r.bucket(u.getHost())); // a campaign's own bucket, if it does not exist yet
    } catch (S3Exception exists) {
      // BucketAlreadyOwnedByYou, or the store's equivalent: use it
    }
    return path -> {
      try {
        return Optional.of(
            s3.getObjectAsBytes(r -> r.bucket(u.getHost()).key(pre + path)).asByteArray());
      } catch (NoSuchKeyException e) {
        return Optional.empty();
      }
    };
  }

  private void sampleExportLag() {
    try {
      long exported = bucket.checkpoint().size();
      long largest = 0;
      for (Node n : nodes) {
        try {
          largest =
              Math.max(
                  largest,
                  promises.size(
                      n.log
                          .withDeadlineAfter(1, TimeUnit.SECONDS)
                          .getCheckpoint(GetCheckpointRequest.getDefaultInstance())
                          .getSignedNote()));
        } catch (StatusRuntimeException e) {
          // down
        }
      }
      exportLag.add(Math.max(0, largest - exported));
    } catch (Exception e) {
      // no checkpoint in the bucket yet
    }
  }

  /**
   * After the nodes agree: the bucket reaches their checkpoint, and holds every acknowledged entry
   * at its index.
   */
  private void checkBucket() throws Exception {
    long target =
        promises.size(
            nodes
                .get(0)
                .log
                .getCheckpoint(GetCheckpointRequest.getDefaultInstance())
                .getSignedNote());
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    SignedCheckpoint cp = bucket.checkpoint();
    while (cp.size() < target && System.nanoTime() < end) {
      Thread.sleep(100);
      cp = bucket.checkpoint();
    }
    if (cp.size() < target)
      promises.violation("the bucket stayed at size " + cp.size() + " < " + target);
    promises.sameRoot(cp.size(), cp.note());
    TileClient.Tree tree = bucket.tree(cp.checkpoint());
    long missing = 0;
    for (long bundle = 0; bundle * 256 < cp.size(); bundle++) {
      List<byte[]> entries = tree.entries(bundle);
      for (int i = 0; i < entries.size(); i++) {
        Promises.Ack a = promises.acked.get(bundle * 256 + i);
        if (a != null && !Arrays.equals(a.leaf().toByteArray(), entries.get(i))) {
          promises.violation(
              "the bucket's entry " + (bundle * 256 + i) + " differs from the acknowledged one");
        }
      }
    }
    for (long index : promises.acked.keySet()) if (index >= cp.size()) missing++;
    if (missing > 0) promises.violation(missing + " acknowledged entries missing from the bucket");
    System.out.println(
        "bucket: tree size " + cp.size() + ", every acknowledged entry at its index");
  }

  /**
   * Waits until {@code n} holds a tree at least as large as the largest the others had when this
   * was called.
   */
  private void caughtUp(Node n, int seconds) throws Exception {
    long target = 0;
    for (Node o : nodes) {
      if (o == n) continue;
      try {
        target =
            Math.max(
                target,
                promises.size(
                    o.log
                        .withDeadlineAfter(2, TimeUnit.SECONDS)
                        .getCheckpoint(GetCheckpointRequest.getDefaultInstance())
                        .getSignedNote()));
      } catch (StatusRuntimeException e) {
        // frozen or down: not the one to catch up with
      }
    }
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < end) {
      try {
        if (promises.size(
                n.log
                    .withDeadlineAfter(2, TimeUnit.SECONDS)
                    .getCheckpoint(GetCheckpointRequest.getDefaultInstance())
                    .getSignedNote())
            >= target) return;
      } catch (StatusRuntimeException e) {
        // still starting
      }
      Thread.sleep(50);
    }
    promises.violation(
        n.id + " did not catch up to size " + target + " within " + seconds + " s of its restart");
  }

  /**
   * Waits until every node holds the same latest checkpoint, then checks each against every
   * promise.
   */
  private void converge() throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    List<String> notes = new ArrayList<>();
    while (System.nanoTime() < end) {
      notes.clear();
      for (Node n : nodes) {
        try {
          notes.add(n.log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote());
        } catch (StatusRuntimeException e) {
          notes.add("unreachable: " + e.getStatus());
        }
      }
      if (notes.stream().distinct().count() == 1 && !notes.get(0).startsWith("unreachable")) break;
      Thread.sleep(100);
    }
    if (notes.stream().distinct().count() != 1)
      promises.violation("the nodes never agreed on one checkpoint: " + notes);
    boolean first = true;
    for (Node n : nodes) {
      Checkpoint cp = promises.check(n.id, n.log, first);
      first = false;
      System.out.println(n.id + ": tree size " + cp.size());
    }
  }

  private long lost() {
    return promises.violations.stream()
        .filter(v -> v.contains("missing") || v.contains("changed"))
        .count();
  }

  private long forks() {
    return promises.violations.stream()
        .filter(v -> v.contains("two roots") || v.contains("not consistent"))
        .count();
  }

  private Node leader(int seconds) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < end) {
      for (Node n : nodes) {
        try {
          LogInfo info =
              n.log
                  .withDeadlineAfter(1, TimeUnit.SECONDS)
                  .getLogInfo(GetLogInfoRequest.getDefaultInstance());
          if (info.getRole().equals("leader")) return n;
        } catch (StatusRuntimeException e) {
          // down or starting
        }
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("no leader within " + seconds + " s");
  }

  /**
   * A server JVM for {@code n} (a node of the cluster, or the single node), opaque entries, this
   * log's key.
   */
  private ProcessBuilder server(Node n, String... more) {
    List<String> cmd = new ArrayList<>(net != null && n.host > 0 ? net.on(n.host) : List.of());
    List<String> args =
        new ArrayList<>(
            List.of(
                "--data-dir",
                n.dir.toString(),
                "--grpc-port",
                Integer.toString(n.grpcPort),
                "--http-port",
                Integer.toString(n.httpPort),
                "--bind-address",
                n.address,
                "--origin",
                ORIGIN,
                "--key-file",
                keyFile.toString(),
                "--accept-any-entry"));
    args.addAll(List.of(more));
    cmd.addAll(ServerProcesses.command(args));
    return new ProcessBuilder(cmd);
  }

  private void start(Node n, boolean restart) throws Exception {
    n.output.setLength(restart ? n.output.length() : 0);
    ProcessBuilder pb =
        server(
            n,
            "--node-id",
            n.id,
            "--peers",
            peers,
            "--snapshot-every",
            Integer.toString(snapshotEvery));
    if (certs == null) {
      pb.command().add("--raft-plaintext");
    } else {
      pb.command()
          .addAll(
              List.of(
                  "--raft-tls-cert",
                  certs.resolve(n.id + ".pem").toString(),
                  "--raft-tls-key",
                  certs.resolve(n.id + ".key").toString(),
                  "--raft-tls-ca",
                  certs.resolve("ca.pem").toString()));
    }
    if (export != null) {
      pb.command().addAll(List.of("--export", export));
      if (s3Endpoint != null) pb.command().addAll(List.of("--s3-endpoint", s3Endpoint.toString()));
      // The SDK's system-property credentials (as a test sets them) reach the nodes as its
      // environment variables.
      if (System.getProperty("aws.accessKeyId") != null) {
        pb.environment().put("AWS_ACCESS_KEY_ID", System.getProperty("aws.accessKeyId"));
        pb.environment().put("AWS_SECRET_ACCESS_KEY", System.getProperty("aws.secretAccessKey"));
      }
    }
    n.process = pb.redirectErrorStream(true).start();
    n.listening = ServerProcesses.watch(n.process, n.id, n.output);
    n.channel = ManagedChannelBuilder.forAddress(n.address, n.grpcPort).usePlaintext().build();
    n.log = TransparencyLogGrpc.newBlockingStub(n.channel);
  }

  private static void awaitListening(Node n) throws Exception {
    n.listening.get(60, TimeUnit.SECONDS);
  }

  private static void signal(String sig, Node n) throws Exception {
    new ProcessBuilder("kill", "-" + sig, Long.toString(n.process.pid()))
        .inheritIO()
        .start()
        .waitFor();
  }

  private static long count(String text, String what) {
    long n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) n++;
    return n;
  }

  static String summary(List<Double> xs) {
    if (xs.isEmpty()) return "none";
    List<Double> sorted = new ArrayList<>(xs);
    Collections.sort(sorted);
    return String.format(
        "p50 %.2f, max %.2f over %d",
        sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1), sorted.size());
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
