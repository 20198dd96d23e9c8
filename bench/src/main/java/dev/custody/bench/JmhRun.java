package dev.custody.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the JMH micro-benchmarks with settings fit for this machine (long warm-ups: JIT and turbo
 * settle slowly on a shared 2-core VM; see BENCHMARKS.md).
 */
@Command(
    name = "jmh",
    mixinStandardHelpOptions = true,
    description =
        "JMH micro-benchmarks of hashing, proofs (in memory and from RocksDB), notes and links.")
final class JmhRun implements Callable<Integer> {
  @Option(
      names = "--include",
      defaultValue = "CoreBenchmarks|StorageProofBenchmarks",
      description = "Regex of benchmarks to run. Default: ${DEFAULT-VALUE}")
  String include;

  @Option(names = "--warmup", defaultValue = "10", description = "Default: ${DEFAULT-VALUE}")
  int warmup;

  @Option(
      names = "--duration",
      defaultValue = "10",
      description = "Measured seconds per benchmark. Default: ${DEFAULT-VALUE}")
  int seconds;

  @Option(
      names = "--forks",
      defaultValue = "1",
      description = "0 runs in this JVM (for smoke tests). Default: ${DEFAULT-VALUE}")
  int forks;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description = "Threads calling each benchmark at once. Default: ${DEFAULT-VALUE}")
  int threads;

  @Option(
      names = {"-p", "--param"},
      description = "A benchmark parameter and its values, e.g. size=10000,1000000")
  Map<String, String> params = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    OptionsBuilder o = new OptionsBuilder();
    params.forEach((k, v) -> o.param(k, v.split(",")));
    String dir = System.getProperty("custody.bench.dir");
    if (dir != null) o.jvmArgsAppend("-Dcustody.bench.dir=" + dir);
    new Runner(
            o.include(include)
                .warmupIterations(1)
                .warmupTime(TimeValue.seconds(warmup))
                .measurementIterations(1)
                .measurementTime(TimeValue.seconds(seconds))
                .forks(forks)
                .threads(threads)
                .jvmArgsAppend("--enable-native-access=ALL-UNNAMED")
                .build())
        .run();
    return 0;
  }
}
