package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real server as a child JVM, kills it with SIGKILL while submissions are in flight,
 * restarts it, and checks the log's promises: every acknowledged entry is at its index with its
 * leaf; every checkpoint ever handed out is consistent with the new one; no size has two roots.
 */
class CrashRecoveryTest {
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
  private static final int ROUNDS = Integer.getInteger("custody.crash.rounds", 4);
  private static final long SEED = Long.getLong("custody.seed", System.nanoTime());

  @TempDir Path dir;

  private record Ack(long index, ByteString leaf, ByteString leafHash) {}

  @Test
  void acknowledgedEntriesSurviveSigkillAndHistoryStaysConsistent() throws Exception {
    Random rnd = new Random(SEED);
    Map<Long, Ack> acked = new ConcurrentHashMap<>();
    Map<Long, String> checkpoints = new ConcurrentHashMap<>(); // size -> signed note handed out
    AtomicLong entryCounter = new AtomicLong();
    CheckpointVerifier verifier = null;
    int killedInStartup = 0;

    for (int round = 0; round <= ROUNDS; round++) {
      if (round > 0 && round % 3 == 0) {
        // Kill one start-up early, before it may even have opened the store.
        Process early = spawn();
        Thread.sleep(rnd.nextInt(400));
        early.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        killedInStartup++;
      }
      Process p = spawn();
      int port = awaitPort(p);
      ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      try {
        TransparencyLogGrpc.TransparencyLogBlockingStub log = TransparencyLogGrpc.newBlockingStub(ch);
        if (verifier == null) verifier = TestLogs.verifier(log.getLogInfo(GetLogInfoRequest.getDefaultInstance()));
        checkPromises(log, verifier, acked, checkpoints);
        if (round == ROUNDS) {
          p.destroy(); // the last one stops cleanly, by SIGTERM
          assertTrue(p.waitFor(30, TimeUnit.SECONDS), "server did not stop on SIGTERM");
          assertEquals(143, p.exitValue());
          break;
        }
        // Load, then SIGKILL in the middle of it.
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        CheckpointVerifier v = verifier;
        for (int c = 0; c < 8; c++) {
          clients.execute(() -> {
            while (!stop.get()) {
              long n = entryCounter.incrementAndGet();
              ByteString entry = ByteString.copyFrom(ByteBuffer.allocate(16).putLong(SEED).putLong(n).array());
              try {
                LogEntry e = log.withDeadlineAfter(10, TimeUnit.SECONDS)
                    .submit(SubmitRequest.newBuilder().setEntry(entry).build());
                TestLogs.verifyInclusion(v, e.getLeafHash().toByteArray(), e.getInclusionProof());
                acked.put(e.getIndex(), new Ack(e.getIndex(), e.getLeaf(), e.getLeafHash()));
                InclusionProof ip = e.getInclusionProof();
                String prev = checkpoints.putIfAbsent(ip.getTreeSize(), ip.getCheckpoint().getSignedNote());
                if (prev != null && !prev.equals(ip.getCheckpoint().getSignedNote())) {
                  Checkpoint a = v.verify(prev);
                  Checkpoint b = v.verify(ip.getCheckpoint().getSignedNote());
                  assertArrayEquals(a.rootHash(), b.rootHash(), "two roots signed for size " + ip.getTreeSize());
                }
              } catch (StatusRuntimeException ex) {
                // The server died under us: this submission was never acknowledged.
              } catch (Exception ex) {
                throw new AssertionError(ex);
              }
            }
          });
        }
        Thread.sleep(300 + rnd.nextInt(1200));
        p.destroyForcibly();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        stop.set(true);
        clients.shutdown();
        assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
      } finally {
        ch.shutdownNow();
        p.destroyForcibly();
      }
    }
    assertTrue(acked.size() > 100, "too few acknowledged entries to mean anything: " + acked.size());
    System.out.println("CrashRecoveryTest: seed " + SEED + ", " + ROUNDS + " SIGKILL rounds (" + killedInStartup
        + " during start-up), " + acked.size() + " acknowledged entries, " + checkpoints.size()
        + " checkpoints checked, 0 violations");
  }

  private static void checkPromises(TransparencyLogGrpc.TransparencyLogBlockingStub log, CheckpointVerifier v,
      Map<Long, Ack> acked, Map<Long, String> checkpoints) throws Exception {
    Checkpoint now = TestLogs.open(v, log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()));
    // Every acknowledged entry is present at its index with the same leaf.
    List<Long> indices = new ArrayList<>(acked.keySet());
    java.util.Collections.sort(indices);
    if (!indices.isEmpty()) assertTrue(indices.get(indices.size() - 1) < now.size(), "acknowledged entry lost");
    for (long start = 0; start < now.size(); ) {
      Iterator<LogEntry> it = log.getEntries(GetEntriesRequest.newBuilder().setStart(start).setEnd(now.size()).build());
      while (it.hasNext()) {
        LogEntry e = it.next();
        Ack a = acked.get(e.getIndex());
        if (a != null) assertEquals(a.leaf(), e.getLeaf(), "entry " + e.getIndex() + " changed");
        start = e.getIndex() + 1;
      }
    }
    // Dedup still answers: resubmitting an acknowledged entry returns its index.
    for (int k = 0; k < Math.min(20, indices.size()); k++) {
      Ack a = acked.get(indices.get(k * indices.size() / Math.min(20, indices.size())));
      LogEntry again = log.submit(SubmitRequest.newBuilder().setEntry(a.leaf()).build());
      assertTrue(again.getDuplicate());
      assertEquals(a.index(), again.getIndex());
      InclusionProof byHash = log.getInclusionProof(GetInclusionProofRequest.newBuilder().setLeafHash(a.leafHash()).build());
      assertEquals(a.index(), byHash.getIndex());
    }
    // Every checkpoint handed out is consistent with the current one; no size has two roots.
    for (Map.Entry<Long, String> c : checkpoints.entrySet()) {
      Checkpoint old = v.verify(c.getValue());
      if (old.size() == 0) continue;
      long to = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
      Checkpoint cur = TestLogs.open(v, log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()));
      ConsistencyProof p = log.getConsistencyProof(GetConsistencyProofRequest.newBuilder()
          .setFromSize(old.size()).setToSize(cur.size()).build());
      Proofs.verifyConsistency(old.size(), cur.size(), TestLogs.hashes(p.getHashesList()), old.rootHash(), cur.rootHash());
      assertTrue(to >= old.size());
    }
    checkpoints.putIfAbsent(now.size(), log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote());
  }

  private Process spawn() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", cp,
        ServerMain.class.getName(), "--data-dir", dir.toString(), "--grpc-port", "0", "--http-port", "0", "--origin", "crash.test/log",
        "--accept-any-entry")
        .redirectErrorStream(true);
    return pb.start();
  }

  private static int awaitPort(Process p) throws Exception {
    CompletableFuture<Integer> port = new CompletableFuture<>();
    StringBuilder seen = new StringBuilder();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          synchronized (seen) {
            if (seen.length() < 20_000) seen.append(line).append('\n');
          }
          Matcher m = LISTENING.matcher(line);
          if (m.find()) port.complete(Integer.parseInt(m.group(1)));
        }
      } catch (Exception ignored) {
        // The process was killed.
      }
      port.completeExceptionally(new AssertionError("server exited without listening:\n" + seen));
    }, "child-output");
    reader.setDaemon(true);
    reader.start();
    return port.get(60, TimeUnit.SECONDS);
  }
}
