package dev.custody.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Each benchmark runs once in a tiny configuration, so that none of them can rot unnoticed. */
class BenchSmokeIT {
  @TempDir Path dir;

  private static String run(String... args) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = new CommandLine(new BenchMain()).execute(args);
    } finally {
      System.setOut(old);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    old.print(out);
    assertEquals(0, code, out);
    return out;
  }

  @Test
  void scaleAndRestart() {
    String out =
        run("scale", "--sizes", "300,1000", "--proofs", "50", "--data-dir", dir.toString());
    assertTrue(out.matches("(?s).*\\n\\s+1000\\s+\\d+.*"), out);
    String r = run("restart", "--data-dir", dir.toString());
    assertTrue(r.contains("restart: size 1000;"), r);
  }

  @Test
  void load() {
    String out =
        run(
            "load",
            "--warmup",
            "0",
            "--duration",
            "1",
            "--in-flight",
            "8",
            "--ceiling-seconds",
            "1");
    assertTrue(out.contains("measured"), out);
    assertTrue(out.contains("errors: 0"), out);
    assertTrue(out.contains("× one synced write per entry"), out);
  }

  @Test
  void clusterRate() {
    String out =
        run(
            "cluster-rate",
            "--settle",
            "3",
            "--warmup",
            "1",
            "--duration",
            "2",
            "--in-flight",
            "16",
            "--ceiling-seconds",
            "1");
    assertTrue(
        out.matches(
            "(?s).*single node\\s+\\d+\\s+1\\.00\\s+[0-9.]+\\s+[0-9.]+ verif\\..*"
                + "3 nodes, load to the follower\\s+\\d+\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+ verif.*"),
        out);
  }

  @Test
  void proofsOverGrpc() {
    String out =
        run("proofs", "--size", "2000", "--warmup", "0", "--duration", "1", "--in-flight", "8");
    assertTrue(out.matches("(?s).*measured\\s+\\d+.*"), out);
    assertTrue(out.contains("errors: 0"), out);
  }

  @Test
  void overload() {
    String out =
        run(
            "overload",
            "--warmup",
            "0",
            "--duration",
            "1",
            "--flood-in-flight",
            "2000",
            "--presign",
            "90000");
    assertTrue(
        out.matches("(?s).*flood \\(2000\\)\\s+\\d+.*peak heap used during the flood \\d+ MiB.*"),
        out);
  }

  @Test
  void ceiling() {
    String out = run("ceiling", "--duration", "1", "--data-dir", dir.toString());
    assertTrue(
        out.matches(
            "(?s).*Ed25519 verify \\(\\w+\\) \\d+/s on one core, \\d+/s on \\d+ cores, [0-9.]+ µs of CPU each; "
                + "bouncycastle \\d+/s on one core, \\d+/s on \\d+ cores.*synced writes \\d+/s \\(each: p50 .*"),
        out);
  }

  @Test
  void verifyAndTiles() {
    assertTrue(run("verify", "--duration", "1").contains("10-layer chain"));
    assertTrue(
        run("tiles", "--entries", "1024", "--warmup", "0", "--duration", "1", "--in-flight", "4")
            .contains("requests/s"));
  }

  @Test
  void registry() {
    String out = run("registry", "--runs", "3", "--duration", "1", "--clients", "2");
    assertTrue(
        out.matches(
            "(?s).*custody sign REF \\(10 new links\\)\\s+p50\\s+[0-9.]+ ms.*"
                + "group commits per custody sign: 1\\.00.*"
                + "custody verify REF \\(online\\)\\s+p50\\s+[0-9.]+ ms.*"
                + "service, cached verdicts \\(@digest\\)\\s+\\d+ req/s.*"),
        out);
  }

  @Test
  void explorer() {
    String out =
        run(
            "explorer",
            "--entries",
            "300",
            "--runs",
            "5",
            "--data-dir",
            dir.resolve("explorer").toString());
    assertTrue(out.matches("(?s).*chain of 10 layers\\s+[0-9.]+\\s+[0-9.]+\\s+\\d+.*"), out);
  }

  @Test
  void openLoop() {
    String out =
        run(
            "load",
            "--rate",
            "200",
            "--in-flight",
            "1000",
            "--warmup",
            "0",
            "--duration",
            "1",
            "--no-ceiling");
    assertTrue(out.contains("open loop at 200/s"), out);
    assertTrue(out.contains("errors: 0"), out);
  }

  @Test
  void loadWithLinks() {
    String out =
        run(
            "load",
            "--links",
            "--presign",
            "20000",
            "--warmup",
            "0",
            "--duration",
            "1",
            "--in-flight",
            "8",
            "--no-ceiling");
    assertTrue(out.contains("signature checks on"), out);
    assertTrue(out.contains("errors: 0"), out);
  }

  @Test
  void jmhRunsEveryBenchmark() {
    // In this JVM, no warm-up, a moment each: only that every benchmark runs and JMH finds them
    // all.
    System.setProperty(
        "custody.bench.dir", dir.toString()); // where the storage benchmarks build their log
    String out;
    try {
      out = run("jmh", "--forks", "0", "--warmup", "0", "--duration", "1", "-p", "size=1000");
    } finally {
      System.clearProperty("custody.bench.dir");
    }
    for (String b :
        new String[] {
          "StorageProofBenchmarks.inclusionProof", "StorageProofBenchmarks.consistencyProof"
        }) {
      assertTrue(out.contains(b), b + " missing from:\n" + out);
    }
    for (String b :
        new String[] {
          "leafHash",
          "nodeHash",
          "compactRangeAppend",
          "inclusionProofFromNodes",
          "verifyInclusion",
          "verifyConsistency",
          "signCheckpoint",
          "verifyCheckpoint",
          "parseAndVerifyEd25519Link",
          "parseAndVerifyEcdsaP256Link"
        }) {
      assertTrue(out.contains("CoreBenchmarks." + b), b + " missing from:\n" + out);
    }
  }
}
