package dev.custody.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

/**
 * CI's short failover campaign: three cluster nodes as real processes under concurrent submitters,
 * the leader SIGKILLed three times (the third time kept down past a snapshot, so that it catches up
 * by one) and frozen once; every promise checked on every node afterwards, and in the S3 bucket
 * (S3Proxy) the leader exports to.
 */
class FailoverCampaignIT {
  @RegisterExtension
  static final S3ProxyExtension S3 =
      S3ProxyExtension.builder().withCredentials("access", "secret").build();

  @Test
  void leaderKillsAndAFreezeLoseNothingAndForkNothing() throws Exception {
    // The nodes export to a real S3 REST server; credentials reach them as the AWS SDK's
    // environment variables.
    System.setProperty("aws.accessKeyId", S3.getAccessKey());
    System.setProperty("aws.secretAccessKey", S3.getSecretKey());
    int kills = Integer.getInteger("custody.failover.kills", 3);
    PrintStream out = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int code;
    try {
      System.setOut(new PrintStream(new TeeStream(out, captured), true, StandardCharsets.UTF_8));
      code =
          new CommandLine(new FailoverCampaign())
              .execute(
                  "--kills",
                  Integer.toString(kills),
                  "--freezes",
                  "1",
                  "--export",
                  "s3://failover/log",
                  "--s3-endpoint",
                  S3.getUri().toString());
    } finally {
      System.setOut(out);
      System.clearProperty("aws.accessKeyId");
      System.clearProperty("aws.secretAccessKey");
    }
    String report = captured.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, "the campaign reported violations (see its output)");
    Matcher m =
        Pattern.compile("(\\d+) leader kills, (\\d+) freezes.* (\\d+) catch-ups by snapshot")
            .matcher(report);
    Assertions.assertTrue(m.find(), report);
    assertEquals(kills, Integer.parseInt(m.group(1)));
    assertEquals(1, Integer.parseInt(m.group(2)));
    Assertions.assertTrue(
        Integer.parseInt(m.group(3)) >= 1,
        "the node kept down past a snapshot must catch up by one: " + report);
    Assertions.assertTrue(report.contains("acknowledged entries lost: 0, forks: 0"), report);
    Assertions.assertTrue(report.contains("every acknowledged entry at its index"), report);
  }

  /**
   * Real network partitions: the nodes in network namespaces of their own (root and iproute2, which
   * bin/test installs), the leader's link taken down twice for 3 s, and once killed.
   */
  @Test
  void partitionsOfTheLeaderLoseNothingAndForkNothing() throws Exception {
    PrintStream out = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int code;
    try {
      System.setOut(new PrintStream(new TeeStream(out, captured), true, StandardCharsets.UTF_8));
      code =
          new CommandLine(new FailoverCampaign())
              .execute("--kills", "1", "--freezes", "0", "--partitions", "2");
    } finally {
      System.setOut(out);
    }
    String report = captured.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, "the campaign reported violations (see its output)");
    Assertions.assertTrue(report.contains("2 partitions of 3000 ms"), report);
    Assertions.assertTrue(report.contains("acknowledged entries lost: 0, forks: 0"), report);
  }

  /** Writes to two streams: the console (for the CI log) and a buffer (for the assertions). */
  private static final class TeeStream extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    TeeStream(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int x) throws IOException {
      a.write(x);
      b.write(x);
    }

    @Override
    public void write(byte[] buf, int off, int len) throws IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }
  }
}
