package dev.custody.tools;

import dev.custody.verify.TlogProof;
import dev.custody.verify.TlogProofVerifier;
import dev.custody.verify.TrustPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "verify-proof",
    mixinStandardHelpOptions = true,
    description = {
      "Check C2SP tlog-proof files offline: the checkpoint's origin and log signature under the "
          + "policy's keys, its witness quorum, the inclusion proof, the leaf hash from the extra "
          + "line, and the layer link inside it (its signature, and the policy's rules for its "
          + "key, repository and layer). A link above layer 0 is checked alone: whether it stands "
          + "on the link below is `custody verify` with the whole image.",
      "",
      "Exit status: 0 every file verifies, 1 one or more do not (each says why), 2 usage.",
      "",
      "Example:",
      "  custody verify-proof --policy policy.json proofs/*.tlog-proof"
    })
final class VerifyProofCommand implements Callable<Integer> {
  @Option(names = "--policy", required = true, description = "Trust policy (JSON)")
  Path policy;

  @Parameters(arity = "1..*", paramLabel = "FILE", description = "tlog-proof files")
  List<Path> files;

  @Override
  public Integer call() throws Exception {
    TlogProofVerifier v = new TlogProofVerifier(TrustPolicy.read(policy));
    boolean all = true;
    for (Path f : files) {
      long size = Files.size(f);
      System.out.print(f + ": ");
      if (size > TlogProof.MAX_BYTES) { // not read: no proof is that large
        System.out.printf(
            "%n  FAILED: larger than any tlog-proof (%d bytes)%nNOT VERIFIED%n", size);
        all = false;
        continue;
      }
      TlogProofVerifier.Result r = v.verify(Files.readAllBytes(f));
      System.out.print(r.report());
      all &= r.ok();
    }
    return all ? 0 : 1;
  }
}
