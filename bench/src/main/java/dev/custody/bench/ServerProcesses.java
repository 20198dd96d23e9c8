package dev.custody.bench;

import dev.custody.server.ServerMain;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Server JVMs for the campaigns: each node of a cluster, or a single node, in a process of its own,
 * as an operator runs it (so that a SIGKILL is real and CPU time can be read per process).
 */
final class ServerProcesses {
  private ServerProcesses() {}

  /**
   * The command line of a {@code custody-server} JVM with a 256 MB heap, followed by {@code args}.
   * Its class path is this JVM's (under surefire the test class path; from the shaded jar, the jar
   * itself), or the system property {@code custody.bench.server-cp} when set: another build's jar,
   * to compare two builds' servers under one load generator.
   */
  static List<String> command(List<String> args) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp =
        System.getProperty(
            "custody.bench.server-cp",
            System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx256m",
                "-XX:+ExitOnOutOfMemoryError",
                "-Dcustody.ratis.log=" + System.getProperty("custody.ratis.log", "WARNING")));
    // Extra JVM options for the servers (a profiler: -XX:StartFlightRecording=...),
    // space-separated.
    String extra = System.getProperty("custody.bench.server-jvm-args", "").strip();
    if (!extra.isEmpty()) cmd.addAll(List.of(extra.split("\\s+")));
    cmd.addAll(List.of("-cp", cp, ServerMain.class.getName()));
    cmd.addAll(args);
    return cmd;
  }

  /**
   * Copies a started server's output into {@code into} (up to 2 MB) on a daemon thread; the future
   * completes with the line in which the server says it is listening (its addresses), and fails
   * when it exits before.
   */
  static CompletableFuture<String> watch(Process p, String name, StringBuffer into) {
    CompletableFuture<String> listening = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  if (into.length() < 2_000_000) into.append(line).append('\n');
                  if (line.contains("listening on")) listening.complete(line);
                }
              } catch (Exception killed) {
                // the process was killed
              }
              listening.completeExceptionally(
                  new IllegalStateException(name + " exited without listening:\n" + tail(into)));
            },
            "server-" + name);
    reader.setDaemon(true);
    reader.start();
    return listening;
  }

  /** The last 4,000 characters of a server's output. */
  static String tail(StringBuffer b) {
    return b.substring(Math.max(0, b.length() - 4000));
  }
}
