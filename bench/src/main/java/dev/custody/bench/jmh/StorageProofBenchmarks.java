package dev.custody.bench.jmh;

import dev.custody.bench.BulkLog;
import dev.custody.server.read.LogReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Inclusion and consistency proofs from RocksDB through the server's read path (tiles plus its node
 * cache), at random positions in a log of {@code size} entries. The log is built once per size in
 * {@code custody.bench.dir} (default: the temp dir) and reused by later runs, since 10^7 entries
 * take a couple of minutes to load.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class StorageProofBenchmarks {
  @Param({"10000"})
  public long size;

  private BulkLog log;
  private LogReader reader;
  private final SplittableRandom rnd = new SplittableRandom(7);

  @Setup(Level.Trial)
  public void open() throws Exception {
    Path dir =
        Path.of(System.getProperty("custody.bench.dir", System.getProperty("java.io.tmpdir")))
            .resolve("custody-jmh-" + size);
    Files.createDirectories(dir);
    log = BulkLog.open(dir);
    if (log.size() > size)
      throw new IllegalStateException(dir + " holds more than " + size + " entries; delete it");
    log.fillTo(size, 64);
    reader = new LogReader(log.storage);
  }

  @TearDown(Level.Trial)
  public void close() {
    log.close();
  }

  @Benchmark
  public List<byte[]> inclusionProof() {
    return reader.inclusion(rnd.nextLong(size), size);
  }

  @Benchmark
  public List<byte[]> consistencyProof() {
    return reader.consistency(1 + rnd.nextLong(size - 1), size);
  }
}
