package dev.custody.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar bench/target/custody-bench.jar <benchmark>}. */
@Command(
    name = "custody-bench",
    mixinStandardHelpOptions = true,
    description =
        "Custody benchmarks. Each prints a table; see BENCHMARKS.md for figures and how to read them.",
    subcommands = {
      LoadGenerator.class,
      ClusterRate.class,
      ScaleRun.class,
      RestartTime.class,
      VerifyRates.class,
      TileLoad.class,
      JmhRun.class,
      Ceilings.class,
      ProofLoad.class,
      CrashCampaign.class,
      FailoverCampaign.class,
      OverloadRun.class,
      RegistryVerify.class,
      ExplorerRender.class,
      SigningRates.class
    })
public final class BenchMain {
  public static void main(String[] args) {
    System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tT %4$s %3$s: %5$s%6$s%n");
    System.exit(new CommandLine(new BenchMain()).execute(args));
  }
}
