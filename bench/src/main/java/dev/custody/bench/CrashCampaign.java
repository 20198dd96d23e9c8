package dev.custody.bench;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.ConsistencyProof;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Proofs;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.ServerMain;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the real server as a child JVM under concurrent submissions, kills it with SIGKILL at a
 * random moment (every third round also once during start-up), restarts it, and after each
 * round checks the log's promises as an outside client would: every acknowledged entry is at
 * its index with the same leaf; every checkpoint ever handed out is consistent with the current
 * one; no size was ever signed with two roots; the dedup index still answers. Reports rounds and
 * violations; exits 1 if there was any.
 */
@Command(name = "crash", mixinStandardHelpOptions = true,
    description = "SIGKILL campaign: kill the server under load at random moments, restart, check every promise.")
public final class CrashCampaign implements Callable<Integer> {
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

  @Option(names = "--rounds", defaultValue = "20", description = "Kills under load. Default: ${DEFAULT-VALUE}")
  int rounds;

  @Option(names = "--clients", defaultValue = "8", description = "Concurrent submitters. Default: ${DEFAULT-VALUE}")
  int clients;

  @Option(names = "--max-load-ms", defaultValue = "1500", description = "Longest load before a kill. Default: ${DEFAULT-VALUE}")
  int maxLoadMs;

  @Option(names = "--seed", description = "Random seed (printed, to replay a campaign); default: the clock")
  Long seed;

  @Option(names = "--data-dir", description = "The log's data directory; default: a temp dir, deleted afterwards")
  Path dataDir;

  private record Ack(long index, ByteString leaf, ByteString leafHash) {}

  private final List<String> violations = Collections.synchronizedList(new ArrayList<>());

  private void violation(String what) {
    violations.add(what);
    System.out.println("VIOLATION: " + what);
  }

  @Override public Integer call() throws Exception {
    long s = seed != null ? seed : System.nanoTime();
    Random rnd = new Random(s);
    Path dir = dataDir != null ? dataDir : Files.createTempDirectory("custody-crash");
    Map<Long, Ack> acked = new ConcurrentHashMap<>();
    Map<Long, String> checkpoints = new ConcurrentHashMap<>(); // size -> signed note handed out
    AtomicLong entryCounter = new AtomicLong();
    CheckpointVerifier verifier = null;
    int killedInStartup = 0;
    long t0 = System.nanoTime();
    try {
      for (int round = 0; round <= rounds; round++) {
        if (round > 0 && round % 3 == 0) {
          Process early = spawn(dir); // killed before it may even have opened the store
          Thread.sleep(rnd.nextInt(400));
          early.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
          killedInStartup++;
        }
        Process p = spawn(dir);
        ManagedChannel ch = null;
        try {
          int port = awaitPort(p);
          ch = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
          TransparencyLogGrpc.TransparencyLogBlockingStub log = TransparencyLogGrpc.newBlockingStub(ch);
          if (verifier == null) {
            var info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
            verifier = new CheckpointVerifier(info.getOrigin(), Ed25519NoteKeys.parseVerifierKey(info.getVerifierKey()));
          }
          checkPromises(log, verifier, acked, checkpoints);
          if (round == rounds) {
            p.destroy(); // the last one stops cleanly, by SIGTERM
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 143) violation("no clean stop on SIGTERM");
            break;
          }
          load(log, verifier, acked, checkpoints, entryCounter, s, 300 + rnd.nextInt(Math.max(1, maxLoadMs - 300)), p);
        } finally {
          if (ch != null) ch.shutdownNow();
          p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
      }
    } finally {
      if (dataDir == null) LoadGenerator.deleteTree(dir);
    }
    System.out.printf("crash: seed %d, %d SIGKILL rounds under load (%d more during start-up), %d acknowledged "
        + "entries, %d checkpoints checked, %.0f s, violations: %d%n", s, rounds, killedInStartup, acked.size(),
        checkpoints.size(), (System.nanoTime() - t0) / 1e9, violations.size());
    if (acked.size() < 10L * rounds) {
      System.out.println("too few acknowledged entries to mean anything: " + acked.size());
      return 1;
    }
    return violations.isEmpty() ? 0 : 1;
  }

  /** Submits from several clients, verifying each acknowledgement, then kills the server in the middle of it. */
  private void load(TransparencyLogGrpc.TransparencyLogBlockingStub log, CheckpointVerifier v, Map<Long, Ack> acked,
      Map<Long, String> checkpoints, AtomicLong counter, long seed, int loadMs, Process p) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    for (int c = 0; c < clients; c++) {
      pool.execute(() -> {
        while (!stop.get()) {
          long n = counter.incrementAndGet();
          ByteString entry = ByteString.copyFrom(ByteBuffer.allocate(16).putLong(seed).putLong(n).array());
          LogEntry e;
          try {
            e = log.withDeadlineAfter(10, TimeUnit.SECONDS).submit(SubmitRequest.newBuilder().setEntry(entry).build());
          } catch (StatusRuntimeException ex) {
            continue; // the server died under us: this one was never acknowledged
          }
          try {
            InclusionProof ip = e.getInclusionProof();
            Checkpoint cp = v.verify(ip.getCheckpoint().getSignedNote());
            Proofs.verifyInclusion(e.getIndex(), ip.getTreeSize(), e.getLeafHash().toByteArray(),
                ip.getHashesList().stream().map(ByteString::toByteArray).toList(), cp.rootHash());
            Ack before = acked.put(e.getIndex(), new Ack(e.getIndex(), e.getLeaf(), e.getLeafHash()));
            if (before != null && !before.leaf().equals(e.getLeaf())) violation("index " + e.getIndex() + " acknowledged twice");
            sameRoot(v, checkpoints, ip.getTreeSize(), ip.getCheckpoint().getSignedNote());
          } catch (Exception ex) {
            violation("acknowledgement of index " + e.getIndex() + " does not verify: " + ex);
          }
        }
      });
    }
    Thread.sleep(loadMs);
    p.destroyForcibly();
    p.waitFor(30, TimeUnit.SECONDS);
    stop.set(true);
    pool.shutdown();
    if (!pool.awaitTermination(60, TimeUnit.SECONDS)) violation("submitters hung after the kill");
  }

  private void sameRoot(CheckpointVerifier v, Map<Long, String> checkpoints, long size, String note) throws Exception {
    String prev = checkpoints.putIfAbsent(size, note);
    if (prev != null && !prev.equals(note) && !Arrays.equals(v.verify(prev).rootHash(), v.verify(note).rootHash())) {
      violation("two roots signed for size " + size);
    }
  }

  private void checkPromises(TransparencyLogGrpc.TransparencyLogBlockingStub log, CheckpointVerifier v,
      Map<Long, Ack> acked, Map<Long, String> checkpoints) throws Exception {
    String note = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote();
    Checkpoint now = v.verify(note);
    List<Long> indices = new ArrayList<>(acked.keySet());
    Collections.sort(indices);
    if (!indices.isEmpty() && indices.get(indices.size() - 1) >= now.size()) {
      violation("acknowledged entry " + indices.get(indices.size() - 1) + " beyond the size " + now.size());
    }
    // Every acknowledged entry is present at its index with the same leaf.
    long seen = 0;
    for (long start = 0; start < now.size(); ) {
      Iterator<LogEntry> it = log.getEntries(GetEntriesRequest.newBuilder().setStart(start).setEnd(now.size()).build());
      while (it.hasNext()) {
        LogEntry e = it.next();
        Ack a = acked.get(e.getIndex());
        if (a != null) {
          seen++;
          if (!a.leaf().equals(e.getLeaf())) violation("entry " + e.getIndex() + " changed");
        }
        start = e.getIndex() + 1;
      }
    }
    if (seen != acked.size()) violation((acked.size() - seen) + " acknowledged entries missing");
    // Dedup still answers: resubmitting an acknowledged entry returns its index.
    int probes = Math.min(20, indices.size());
    for (int k = 0; k < probes; k++) {
      Ack a = acked.get(indices.get(k * indices.size() / probes));
      LogEntry again = log.submit(SubmitRequest.newBuilder().setEntry(a.leaf()).build());
      if (!again.getDuplicate() || again.getIndex() != a.index()) violation("dedup lost entry " + a.index());
      InclusionProof byHash = log.getInclusionProof(GetInclusionProofRequest.newBuilder().setLeafHash(a.leafHash()).build());
      if (byHash.getIndex() != a.index()) violation("leaf-hash lookup lost entry " + a.index());
    }
    // Every checkpoint handed out is consistent with the current one; no size has two roots.
    sameRoot(v, checkpoints, now.size(), note);
    for (Map.Entry<Long, String> c : checkpoints.entrySet()) {
      Checkpoint old = v.verify(c.getValue());
      if (old.size() == 0 || old.size() == now.size()) continue;
      try {
        ConsistencyProof p = log.getConsistencyProof(GetConsistencyProofRequest.newBuilder()
            .setFromSize(old.size()).setToSize(now.size()).build());
        Proofs.verifyConsistency(old.size(), now.size(), p.getHashesList().stream().map(ByteString::toByteArray).toList(),
            old.rootHash(), now.rootHash());
      } catch (Exception e) {
        violation("checkpoint at size " + old.size() + " is not consistent with size " + now.size() + ": " + e);
      }
    }
  }

  private static Process spawn(Path dir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // Under surefire the test class path; from the shaded jar, the jar itself (it holds the server).
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:+ExitOnOutOfMemoryError", "-cp", cp,
        ServerMain.class.getName(), "--data-dir", dir.toString(), "--grpc-port", "0", "--http-port", "0",
        "--origin", "crash.custody.dev/log", "--accept-any-entry")
        .redirectErrorStream(true).start();
  }

  private static int awaitPort(Process p) throws Exception {
    CompletableFuture<Integer> port = new CompletableFuture<>();
    StringBuilder seen = new StringBuilder();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          if (seen.length() < 20_000) seen.append(line).append('\n');
          Matcher m = LISTENING.matcher(line);
          if (m.find()) port.complete(Integer.parseInt(m.group(1)));
        }
      } catch (Exception killed) {
        // the process was killed
      }
      port.completeExceptionally(new IllegalStateException("server exited without listening:\n" + seen));
    }, "child-output");
    reader.setDaemon(true);
    reader.start();
    return port.get(60, TimeUnit.SECONDS);
  }
}
