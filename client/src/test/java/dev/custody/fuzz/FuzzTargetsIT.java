package dev.custody.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes every {@code @FuzzTest} of {@link ParserFuzzTest} (the one list of targets: the class
 * itself), each in a JVM of its own for the time its annotation allows, two at a time (one core
 * each). The unit lane replays every target's corpus; this lane looks for new inputs. {@code
 * -Dfuzz.rounds=N} fuzzes each target N times over (the corpus Jazzer grows carries over): {@code
 * fuzz/run.sh} runs the long campaigns that way. A finding fails the test and Jazzer saves the
 * input under {@code src/test/resources/dev/custody/fuzz/ParserFuzzTestInputs/<target>/}, where it
 * becomes a seed every run replays.
 */
class FuzzTargetsIT {
  /** How long one target may take over its fuzzing time: a JVM's start and Jazzer's set-up. */
  private static final long SLACK_SECONDS = 120;

  static List<String> targets() {
    return Arrays.stream(ParserFuzzTest.class.getDeclaredMethods())
        .filter(m -> m.isAnnotationPresent(FuzzTest.class))
        .map(Method::getName)
        .sorted()
        .toList();
  }

  @Test
  void everyTargetFuzzesWithoutAFinding() throws Exception {
    List<String> targets = targets();
    assertTrue(targets.size() >= 16, "fuzz targets found: " + targets);
    int rounds = Integer.getInteger("fuzz.rounds", 1);
    Path logs = Files.createDirectories(Path.of("target", "fuzz-logs"));
    ExecutorService two = Executors.newFixedThreadPool(2);
    try {
      for (int round = 1; round <= rounds; round++) {
        List<Future<String>> runs = new ArrayList<>();
        for (String t : targets) runs.add(two.submit(() -> fuzz(t, logs)));
        List<String> findings = new ArrayList<>();
        for (Future<String> r : runs) {
          String finding = r.get();
          if (finding != null) findings.add(finding);
        }
        assertEquals(List.of(), findings, "round " + round + " of " + rounds);
      }
    } finally {
      two.shutdownNow();
    }
  }

  /** Fuzzes one target in a JVM of its own; null when it found nothing, else why it failed. */
  private static String fuzz(String target, Path logs) throws IOException, InterruptedException {
    String classPath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path log = logs.resolve(target + ".log");
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Duser.home=" + System.getProperty("user.home"),
                "-Dcustody.root=" + System.getProperty("custody.root", ""),
                "-cp",
                classPath,
                FuzzOne.class.getName(),
                target)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().put("JAZZER_FUZZ", "1");
    Process p = pb.start();
    if (!p.waitFor(5 + SLACK_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return target + ": did not finish in time (see " + log + ")";
    }
    return p.exitValue() == 0
        ? null
        : target + ": exit " + p.exitValue() + " (see " + log + ")\n" + tail(log);
  }

  private static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
  }
}
