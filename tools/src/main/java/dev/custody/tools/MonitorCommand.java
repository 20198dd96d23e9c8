package dev.custody.tools;

import dev.custody.monitor.Finding;
import dev.custody.monitor.Monitor;
import dev.custody.monitor.MonitorState;
import dev.custody.monitor.WatchRules;
import dev.custody.tiles.TileClient;
import dev.custody.tiles.Tiles;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
    name = "monitor",
    mixinStandardHelpOptions = true,
    description = {
      "Follow a log through its tiles (HTTP or a directory), verify every checkpoint and its "
          + "consistency with the last one, re-derive every entry, and report what the rules flag "
          + "as JSON lines on stdout:",
      "unexpected-signer, second-chain-for-manifest, fork, key-outside-validity-window, and "
          + "log faults (log-fault:…), mirror-unavailable and unwitnessed-checkpoint (not faults; "
          + "retried when following).",
      "",
      "With --once, the exit code says what a CI job needs to know: 0 nothing found, 1 a finding "
          + "(of the rules --fail-on names, every rule by default), 3 a log fault, 4 the tiles "
          + "could not be read or lacked the witness quorum, 2 a usage error.",
      "",
      "  custody monitor --log http://127.0.0.1:7301/ --rules rules.json \\",
      "      --state monitor.json --once"
    })
final class MonitorCommand implements Callable<Integer> {
  @Option(
      names = "--log",
      required = true,
      description = "The log's tile prefix: an http(s) URL or a directory")
  String logPrefix;

  @Option(
      names = "--rules",
      required = true,
      description = "A trust policy (JSON) plus optional \"watch\": [repository patterns]")
  Path rulesFile;

  @Option(
      names = "--state",
      description = "Where to remember progress between runs (created if missing)")
  Path stateFile;

  @Option(
      names = "--once",
      description = "Catch up once and exit instead of following; the exit code tells the result")
  boolean once;

  @Option(
      names = "--fail-on",
      split = ",",
      paramLabel = "RULE",
      description =
          "With --once: only findings of these rules make the exit code 1 (the others are still "
              + "reported): unexpected-signer, second-chain-for-manifest, fork, "
              + "key-outside-validity-window. Default: every rule")
  List<String> failOn;

  @Option(
      names = "--since",
      paramLabel = "INDEX",
      description =
          "Start a fresh state at this log index instead of the first entry (the --state file must "
              + "not exist yet). Rules that look back (second-chain-for-manifest, fork) see only "
              + "what follows it")
  Long since;

  @Spec CommandSpec spec;

  /** The rules a finding can break (log faults and mirror trouble have codes of their own). */
  static final List<String> RULES =
      List.of(
          Finding.UNEXPECTED_SIGNER,
          Finding.SECOND_CHAIN,
          Finding.FORK,
          Finding.KEY_OUTSIDE_WINDOW);

  @Option(
      names = "--interval",
      defaultValue = "10",
      description = "Seconds between polls when following. Default: ${DEFAULT-VALUE}")
  int interval;

  @Option(names = "--webhook", description = "Also POST each finding (one JSON object) to this URL")
  URI webhook;

  @Option(names = "--no-progress", description = "No progress bar on stderr")
  boolean noProgress;

  @Option(
      names = "--timeout",
      defaultValue = "30",
      description =
          "Seconds each tile, bundle or checkpoint may take to "
              + "arrive, body included; slower is mirror trouble. Default: ${DEFAULT-VALUE}")
  int timeoutSeconds;

  @Override
  public Integer call() throws Exception {
    Set<String> failing = new HashSet<>(failOn == null ? RULES : failOn);
    for (String rule : failing) {
      if (!RULES.contains(rule))
        throw new ParameterException(
            spec.commandLine(), "--fail-on: no rule \"" + rule + "\"; the rules are " + RULES);
    }
    if (since != null && since < 0)
      throw new ParameterException(spec.commandLine(), "--since: an index is at least 0");
    if (since != null && stateFile != null && Files.exists(stateFile))
      throw new ParameterException(
          spec.commandLine(),
          "--since starts a fresh state, but "
              + stateFile
              + " exists; move it away, or leave out --since to go on from it");
    WatchRules rules = WatchRules.read(rulesFile);
    TileClient.Fetcher fetcher = TileClient.fetcher(logPrefix, Duration.ofSeconds(timeoutSeconds));
    Monitor monitor = new Monitor(new TileClient(fetcher, rules.policy().logVerifier()), rules);
    MonitorState state =
        since == null ? MonitorState.load(stateFile) : MonitorState.startingAt(since);
    HttpClient http =
        webhook == null
            ? null
            : HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    boolean[] found = {false};
    Consumer<Finding> out =
        f -> {
          if (!f.logFault() && failing.contains(f.rule())) found[0] = true;
          System.out.println(f.json());
          System.out.flush();
          if (http != null) {
            try {
              http.send(
                  HttpRequest.newBuilder(webhook)
                      .timeout(Duration.ofSeconds(10))
                      .header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofString(f.json()))
                      .build(),
                  HttpResponse.BodyHandlers.discarding());
            } catch (Exception e) {
              System.err.println("custody monitor: webhook failed: " + e.getMessage());
            }
          }
        };
    long started = System.nanoTime();
    long startIndex = state.nextIndex();
    // A bar only for a person at a terminal; logs and pipes get the summary line alone.
    boolean showBar = !noProgress && System.console() != null;
    Monitor.Progress progress = showBar ? MonitorCommand::bar : (d, t) -> {};
    while (true) {
      Monitor.Outcome outcome;
      try {
        outcome = monitor.step(state, out, progress);
      } catch (IOException e) {
        // Not the log's fault as far as anyone can tell: say so, and in follow mode try again next
        // round.
        out.accept(
            new Finding(
                Finding.MIRROR_UNAVAILABLE,
                false,
                -1,
                "cannot read the log (will retry): " + e.getMessage(),
                Map.of()));
        outcome = Monitor.Outcome.RETRY;
      }
      boolean fault = outcome == Monitor.Outcome.LOG_FAULT;
      if (outcome == Monitor.Outcome.OK) state.save(stateFile);
      if (!noProgress && state.nextIndex() > startIndex) {
        double secs = (System.nanoTime() - started) / 1e9;
        System.err.printf(
            "%ncustody monitor: at %d entries (%.0f entries/s)%n",
            state.nextIndex(), (state.nextIndex() - startIndex) / Math.max(secs, 1e-3));
      }
      if (once) return fault ? 3 : found[0] ? 1 : outcome == Monitor.Outcome.RETRY ? 4 : 0;
      Thread.sleep(interval * 1000L);
      started = System.nanoTime();
      startIndex = state.nextIndex();
    }
  }

  private static void bar(long done, long total) {
    int width = 40;
    int filled = total == 0 ? width : (int) (width * done / total);
    if (done != total && done % (Tiles.WIDTH * 16) != 0) return; // every 4,096 entries is plenty
    System.err.printf(
        "\r[%s%s] %d/%d", "#".repeat(filled), " ".repeat(width - filled), done, total);
  }
}
