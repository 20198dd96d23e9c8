package dev.custody.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code custody}: the command line for signers, verifiers and operators. */
@Command(
    name = "custody",
    mixinStandardHelpOptions = true,
    version = "custody 0.1.0",
    description = {
      "Sign the layers you add to a container image, log the signatures publicly, and verify "
          + "an image's whole chain of custody.",
      "",
      "Signers:   keygen, then sign (your layers, on top of the link below),",
      "           then submit; by reference, sign submits, and attach puts the",
      "           image's chain beside it in its registry.",
      "Verifiers: verify an image against a trust policy (online, or offline with",
      "           a bundle); verifier serves verdicts to admission controllers",
      "           (Gatekeeper, Kyverno).",
      "Operators: checkpoint, proof, bundle: raw access to the log.",
      "Watchers:  monitor follows a log and flags what nobody expected; witness",
      "           cosigns checkpoints.",
      ""
    },
    subcommands = {
      KeygenCommand.class,
      SignCommand.class,
      SubmitCommand.class,
      AttachCommand.class,
      VerifyCommand.class,
      VerifierCommand.class,
      VerifyProofCommand.class,
      BundleCommand.class,
      CheckpointCommand.class,
      ProofCommand.class,
      InfoCommand.class,
      MonitorCommand.class,
      WitnessCommand.class
    })
public final class CustodyCli {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String... args) {
    return new CommandLine(new CustodyCli())
        .setExecutionExceptionHandler(
            (e, cmd, parsed) -> {
              // A person reads this: say what went wrong, not where in the code.
              cmd.getErr()
                  .println(
                      "custody "
                          + cmd.getCommandName()
                          + ": "
                          + (e.getMessage() == null ? e : e.getMessage()));
              return 2;
            })
        .execute(args);
  }
}
