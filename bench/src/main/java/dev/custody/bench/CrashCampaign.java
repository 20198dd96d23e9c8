package dev.custody.bench;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.note.Ed25519NoteKeys;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
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
 * random moment (every third round also once during start-up), restarts it, and after each round
 * checks the log's promises as an outside client would: every acknowledged entry is at its index
 * with the same leaf; every checkpoint ever handed out is consistent with the current one; no size
 * was ever signed with two roots; the dedup index still answers. Reports rounds and violations;
 * exits 1 if there was any.
 */
@Command(
    name = "crash",
    mixinStandardHelpOptions = true,
    description =
        "SIGKILL campaign: kill the server under load at random moments, restart, check every promise.")
public final class CrashCampaign implements Callable<Integer> {
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

  @Option(
      names = "--rounds",
      defaultValue = "20",
      description = "Kills under load. Default: ${DEFAULT-VALUE}")
  int rounds;

  @Option(
      names = "--clients",
      defaultValue = "8",
      description = "Concurrent submitters. Default: ${DEFAULT-VALUE}")
  int clients;

  @Option(
      names = "--max-load-ms",
      defaultValue = "1500",
      description = "Longest load before a kill. Default: ${DEFAULT-VALUE}")
  int maxLoadMs;

  @Option(
      names = "--seed",
      description = "Random seed (printed, to replay a campaign); default: the clock")
  Long seed;

  @Option(
      names = "--data-dir",
      description = "The log's data directory; default: a temp dir, deleted afterwards")
  Path dataDir;

  private Promises promises;

  private void violation(String what) {
    promises.violation(what);
  }

  @Override
  public Integer call() throws Exception {
    long s = seed != null ? seed : System.nanoTime();
    Random rnd = new Random(s);
    Path dir = dataDir != null ? dataDir : Files.createTempDirectory("custody-crash");
    AtomicLong entryCounter = new AtomicLong();
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
          TransparencyLogGrpc.TransparencyLogBlockingStub log =
              TransparencyLogGrpc.newBlockingStub(ch);
          if (promises == null) {
            var info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
            promises =
                new Promises(
                    new CheckpointVerifier(
                        info.getOrigin(), Ed25519NoteKeys.parseVerifierKey(info.getVerifierKey())));
          }
          promises.check("the server", log, true);
          if (round == rounds) {
            p.destroy(); // the last one stops cleanly, by SIGTERM
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 143)
              violation("no clean stop on SIGTERM");
            break;
          }
          load(log, entryCounter, s, 300 + rnd.nextInt(Math.max(1, maxLoadMs - 300)), p);
        } finally {
          if (ch != null) ch.shutdownNow();
          p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
      }
    } finally {
      if (dataDir == null) LoadGenerator.deleteTree(dir);
    }
    System.out.printf(
        "crash: seed %d, %d SIGKILL rounds under load (%d more during start-up), %d acknowledged "
            + "entries, %d checkpoints checked, %.0f s, violations: %d%n",
        s,
        rounds,
        killedInStartup,
        promises.acked.size(),
        promises.checkpoints.size(),
        (System.nanoTime() - t0) / 1e9,
        promises.violations.size());
    if (promises.acked.size() < 10L * rounds) {
      System.out.println("too few acknowledged entries to mean anything: " + promises.acked.size());
      return 1;
    }
    return promises.violations.isEmpty() ? 0 : 1;
  }

  /**
   * Submits from several clients, verifying each acknowledgement, then kills the server in the
   * middle of it.
   */
  private void load(
      TransparencyLogGrpc.TransparencyLogBlockingStub log,
      AtomicLong counter,
      long seed,
      int loadMs,
      Process p)
      throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    for (int c = 0; c < clients; c++) {
      pool.execute(
          () -> {
            while (!stop.get()) {
              long n = counter.incrementAndGet();
              ByteString entry =
                  ByteString.copyFrom(ByteBuffer.allocate(16).putLong(seed).putLong(n).array());
              LogEntry e;
              try {
                e =
                    log.withDeadlineAfter(10, TimeUnit.SECONDS)
                        .submit(SubmitRequest.newBuilder().setEntry(entry).build());
              } catch (StatusRuntimeException ex) {
                continue; // the server died under us: this one was never acknowledged
              }
              promises.acknowledged(e);
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

  private static Process spawn(Path dir) throws Exception {
    return new ProcessBuilder(
            ServerProcesses.command(
                List.of(
                    "--data-dir",
                    dir.toString(),
                    "--grpc-port",
                    "0",
                    "--http-port",
                    "0",
                    "--origin",
                    "crash.custody.dev/log",
                    "--accept-any-entry")))
        .redirectErrorStream(true)
        .start();
  }

  private static int awaitPort(Process p) throws Exception {
    String line =
        ServerProcesses.watch(p, "crash-child", new StringBuffer()).get(60, TimeUnit.SECONDS);
    Matcher m = LISTENING.matcher(line);
    if (!m.find()) throw new IllegalStateException("no port in: " + line);
    return Integer.parseInt(m.group(1));
  }
}
