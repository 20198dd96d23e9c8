package dev.custody.bench;

import dev.custody.chain.LinkKeys;
import dev.custody.chain.LinkVerifier;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What this machine can do at most, for append figures to be read against: raw Ed25519 verification
 * of a link-sized message with the verifier the server chooses (the fastest that loads: ACCP where
 * its native library does) and with Bouncy Castle, on one core and on all cores at once, with the
 * CPU time of one verification; and RocksDB's rate of synced writes of one small record each (what
 * one-commit-per-entry would give).
 */
@Command(
    name = "ceiling",
    mixinStandardHelpOptions = true,
    description =
        "This machine's Ed25519 verification rate (one core, all cores) and synced-write rate.")
final class Ceilings implements Callable<Integer> {
  @Option(
      names = "--duration",
      defaultValue = "5",
      description = "Seconds per measurement. Default: ${DEFAULT-VALUE}")
  int seconds;

  @Option(
      names = "--data-dir",
      description = "Where to measure synced writes; default: the temp dir")
  Path dir;

  /**
   * @param syncLatency of each synced write, in nanoseconds: the device's own tail, under any
   *     commit's
   */
  record Figures(
      int cores,
      String verifier,
      double ed25519OneCore,
      double ed25519AllCores,
      double bcOneCore,
      double bcAllCores,
      double cpuNanosPerVerify,
      double syncedWrites,
      Histogram syncLatency) {
    /**
     * The measured rate beside the ceilings: a fraction of what the machine can verify, a multiple
     * of what it can sync.
     */
    void print(double appendsPerSecond, boolean withSignatures) {
      print();
      if (withSignatures) {
        System.out.printf(
            "appends/s: %.2f of %s Ed25519 verification on all cores, %.2f of one core; %.1f× synced "
                + "writes%n",
            appendsPerSecond / ed25519AllCores,
            verifier,
            appendsPerSecond / ed25519OneCore,
            appendsPerSecond / syncedWrites);
      } else {
        System.out.printf(
            "appends/s: %.1f× one synced write per entry%n", appendsPerSecond / syncedWrites);
      }
    }

    void print() {
      System.out.printf(
          "ceiling: Ed25519 verify (%s) %.0f/s on one core, %.0f/s on %d cores, %.1f µs of CPU each; "
              + "bouncycastle %.0f/s on one core, %.0f/s on %d cores%n",
          verifier,
          ed25519OneCore,
          ed25519AllCores,
          cores,
          cpuNanosPerVerify / 1e3,
          bcOneCore,
          bcAllCores,
          cores);
      System.out.printf(
          "ceiling: synced writes %.0f/s (each: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms)%n",
          syncedWrites,
          syncLatency.getValueAtPercentile(50) / 1e6,
          syncLatency.getValueAtPercentile(99) / 1e6,
          syncLatency.getValueAtPercentile(99.9) / 1e6,
          syncLatency.getMaxValue() / 1e6);
    }
  }

  @Override
  public Integer call() throws Exception {
    measure(seconds, dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir"))).print();
    return 0;
  }

  static Figures measure(int seconds, Path dir) throws Exception {
    int cores = Runtime.getRuntime().availableProcessors();
    LinkVerifier fastest = LinkVerifier.fastest();
    LinkVerifier bc = LinkVerifier.bouncyCastle();
    double one = ed25519(fastest, 1, seconds);
    double all = ed25519(fastest, cores, seconds);
    double bcOne = ed25519(bc, 1, seconds);
    double bcAll = ed25519(bc, cores, seconds);
    double cpu = cpuNanosPerVerify(fastest, seconds);
    Histogram sync = new Histogram(3);
    return new Figures(
        cores, fastest.name(), one, all, bcOne, bcAll, cpu, syncedWrites(seconds, dir, sync), sync);
  }

  /**
   * A verification of a 260-byte message (the size of a link's signed PAE) by a key the verifier
   * has seen before, as a team's key is: fails loudly if it does not verify.
   */
  static Runnable ed25519Verification(LinkVerifier verifier) {
    LinkKeys.Signer key = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    byte[] msg = new byte[260];
    new SecureRandom().nextBytes(msg);
    byte[] sig = key.sign(msg);
    byte[] spki = key.publicKey();
    return () -> {
      if (!verifier.verify(LinkKeys.Scheme.ED25519, spki, msg, sig))
        throw new AssertionError("Ed25519 verification failed");
    };
  }

  /**
   * The CPU time of one verification on one thread, after a warm-up: the unit server CPU per link
   * is measured in.
   */
  static double cpuNanosPerVerify(LinkVerifier verifier, int seconds) {
    Runnable op = ed25519Verification(verifier);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long warmEnd = System.nanoTime() + seconds * 500_000_000L;
    while (System.nanoTime() < warmEnd) op.run();
    long c0 = threads.getCurrentThreadCpuTime();
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    long n = 0;
    while (System.nanoTime() < end) {
      op.run();
      n++;
    }
    return (threads.getCurrentThreadCpuTime() - c0) / (double) n;
  }

  private static double ed25519(LinkVerifier verifier, int threads, int seconds)
      throws InterruptedException {
    LongAdder done = new LongAdder();
    List<Thread> ts = new ArrayList<>();
    long warmEnd = System.nanoTime() + seconds * 500_000_000L;
    long end = warmEnd + seconds * 1_000_000_000L;
    for (int i = 0; i < threads; i++) {
      Runnable op = ed25519Verification(verifier);
      Thread t =
          new Thread(
              () -> {
                while (System.nanoTime() < warmEnd) op.run();
                long n = 0;
                while (System.nanoTime() < end) {
                  op.run();
                  n++;
                }
                done.add(n);
              });
      t.start();
      ts.add(t);
    }
    for (Thread t : ts) t.join();
    return done.sum() / (double) seconds;
  }

  private static double syncedWrites(int seconds, Path dir, Histogram latency)
      throws RocksDBException, IOException {
    RocksDB.loadLibrary();
    Path db = Files.createTempDirectory(dir, "custody-ceiling");
    try (Options o = new Options().setCreateIfMissing(true);
        RocksDB r = RocksDB.open(o, db.toString());
        WriteOptions sync = new WriteOptions().setSync(true)) {
      byte[] value = new byte[100];
      long n = 0;
      long t0 = System.nanoTime();
      long end = t0 + seconds * 1_000_000_000L;
      long now;
      do {
        long w0 = System.nanoTime();
        r.put(sync, Long.toString(n++).getBytes(), value);
        now = System.nanoTime();
        latency.recordValue(now - w0);
      } while (now < end);
      return n / ((now - t0) / 1e9);
    } finally {
      LoadGenerator.deleteTree(db);
    }
  }
}
