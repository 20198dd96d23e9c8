package dev.custody.server;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A log server in a JVM of its own, for attacks that must not take the test JVM down: a small heap,
 * its resident memory read from /proc, stopped with a real SIGTERM (or SIGKILL).
 */
final class ChildServer implements AutoCloseable {
  private static final Pattern LISTENING =
      Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+).* tiles=http://127\\.0\\.0\\.1:(\\d+)/");

  final Process process;
  final int grpcPort;
  final int httpPort;
  private final StringBuffer output;

  private ChildServer(Process process, int grpcPort, int httpPort, StringBuffer output) {
    this.process = process;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.output = output;
  }

  /**
   * Starts {@code custody-server} with {@code -Xmx<heapMb>m} and the given flags after the data
   * dir's.
   */
  static ChildServer start(Path dataDir, int heapMb, String... flags) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java,
                "-Xmx" + heapMb + "m",
                "-XX:+ExitOnOutOfMemoryError",
                "-cp",
                cp,
                ServerMain.class.getName(),
                "--data-dir",
                dataDir.toString(),
                "--grpc-port",
                "0",
                "--http-port",
                "0"));
    cmd.addAll(List.of(flags));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    StringBuffer seen = new StringBuffer();
    CompletableFuture<int[]> ports = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  if (seen.length() < 200_000) seen.append(line).append('\n');
                  Matcher m = LISTENING.matcher(line);
                  if (m.find())
                    ports.complete(
                        new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
                }
              } catch (Exception ended) {
                // the process ended
              }
              ports.completeExceptionally(
                  new AssertionError("server exited without listening:\n" + seen));
            },
            "child-server-output");
    reader.setDaemon(true);
    reader.start();
    int[] got = ports.get(60, TimeUnit.SECONDS);
    return new ChildServer(p, got[0], got[1], seen);
  }

  /** Resident memory now, in MiB (VmRSS from /proc). */
  long rssMb() throws Exception {
    for (String line :
        Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D+", "")) / 1024;
    }
    throw new AssertionError("no VmRSS for " + process.pid());
  }

  String output() {
    return output.toString();
  }

  /** Sends SIGTERM; true when the process has exited within {@code seconds}. */
  boolean terminate(int seconds) throws Exception {
    process.destroy(); // SIGTERM
    return process.waitFor(seconds, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    if (process.isAlive()) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
