package dev.custody.bench;

import dev.custody.server.read.LogReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Fills a log in-process as fast as the sequencer and storage allow (no gRPC, no signatures on
 * entries), and at each size measures restart time, proof latency and reads, and bytes on disk.
 */
@Command(
    name = "scale",
    mixinStandardHelpOptions = true,
    description =
        "Bulk-load a log to each size and measure restart time, proof latency and storage per entry.")
final class ScaleRun implements Callable<Integer> {
  @Option(
      names = "--sizes",
      defaultValue = "10000,100000,1000000",
      split = ",",
      description = "Tree sizes to stop and measure at. Default: ${DEFAULT-VALUE}")
  long[] sizes;

  @Option(
      names = "--entry-bytes",
      defaultValue = "64",
      description = "Bytes per opaque entry. Default: ${DEFAULT-VALUE}")
  int entryBytes;

  @Option(
      names = "--proofs",
      defaultValue = "20000",
      description = "Inclusion proofs timed at each size. Default: ${DEFAULT-VALUE}")
  int proofs;

  @Option(
      names = "--data-dir",
      description = "Where to build the log; default: a temp dir, deleted afterwards")
  Path dataDir;

  @Option(
      names = "--crash-after-load",
      description =
          "Load the first size only, then halt without closing "
              + "anything (as SIGKILL would), leaving --data-dir for `restart` to time a crash recovery.")
  boolean crash;

  @Override
  public Integer call() throws Exception {
    if (crash && dataDir == null)
      throw new IllegalArgumentException("--crash-after-load needs --data-dir");
    Path dir = dataDir != null ? dataDir : Files.createTempDirectory("custody-scale");
    System.out.printf(
        "scale: opaque entries of %d B, in-process sequencer and RocksDB in %s%n", entryBytes, dir);
    System.out.printf(
        "%12s %12s %12s %12s %12s %12s %14s%n",
        "entries",
        "load/s",
        "restart ms",
        "proof µs p50",
        "proof µs p99",
        "tiles/proof",
        "bytes/entry*");
    BulkLog log = BulkLog.open(dir);
    try {
      for (long target : sizes) {
        long before = log.size();
        long t0 = System.nanoTime();
        log.fillTo(target, entryBytes);
        if (crash) {
          System.out.printf("loaded %d entries; halting without a clean close%n", target);
          System.out.flush();
          Runtime.getRuntime().halt(0);
        }
        double loadRate = (target - before) / ((System.nanoTime() - t0) / 1e9);
        log.close();
        long bytes = du(dir.resolve("db"));

        long r0 = System.nanoTime();
        log = BulkLog.open(dir);
        double restartMs = (System.nanoTime() - r0) / 1e6;
        if (log.size() != target) throw new AssertionError("restart found size " + log.size());

        // A fresh reader (and so a cold node cache) at each size, as after a restart.
        LogReader reader = new LogReader(log.storage);
        Histogram h = new Histogram(3);
        Random rnd = new Random(1);
        long tiles = 0;
        for (int i = 0; i < proofs; i++) {
          long index = Math.floorMod(rnd.nextLong(), target);
          long reads = reader.tileReads();
          long p0 = System.nanoTime();
          reader.inclusion(index, target);
          h.recordValue(System.nanoTime() - p0);
          tiles += reader.tileReads() - reads;
        }
        System.out.printf(
            "%12d %12.0f %12.1f %12.1f %12.1f %12.2f %14.1f%n",
            target,
            loadRate,
            restartMs,
            h.getValueAtPercentile(50) / 1e3,
            h.getValueAtPercentile(99) / 1e3,
            (double) tiles / proofs,
            (double) bytes / target - entryBytes);
      }
      System.out.println(
          "* bytes on disk per entry beyond the entry itself: tiles, leaf-hash index, keys, "
              + "checkpoints and RocksDB overhead");
    } finally {
      log.close();
      if (dataDir == null) LoadGenerator.deleteTree(dir);
    }
    return 0;
  }

  private static long du(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }
}
