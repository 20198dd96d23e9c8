package dev.custody.tools;

import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.logclient.LogClient;
import dev.custody.oci.OciImage;
import dev.custody.verify.Bundle;
import dev.custody.verify.TlogProof;
import dev.custody.verify.TrustPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
    name = "bundle",
    mixinStandardHelpOptions = true,
    description = {
      "Fetch everything needed to verify an image offline (its links, their proofs and the "
          + "signed checkpoint) and save it to ship beside the image: one Custody bundle file "
          + "(--format custody, for `custody verify --bundle`), or one C2SP tlog-proof file per "
          + "link in the directory --out (--format tlog-proof: layer-0.tlog-proof, ..., for "
          + "`custody verify-proof` and other tlog tools).",
      "",
      "Example:",
      "  custody bundle --layout app --image v1 --server log.example:8443 \\",
      "      --format tlog-proof --out proofs/"
    })
final class BundleCommand implements Callable<Integer> {
  @ArgGroup(exclusive = false, multiplicity = "1")
  ImageOptions image;

  @Option(
      names = "--out",
      required = true,
      description = "Bundle file to write; with --format tlog-proof, a directory")
  Path out;

  @Option(
      names = "--format",
      defaultValue = "custody",
      description =
          "custody (one JSON bundle) or tlog-proof (a file per link). Default: ${DEFAULT-VALUE}")
  String format;

  @Option(
      names = "--policy",
      description =
          "When the log holds several chains for the image (someone else signed "
              + "it too), keep the one that verifies under this policy")
  Path policy;

  @Mixin LogOptions conn;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (!format.equals("custody") && !format.equals("tlog-proof"))
      throw new ParameterException(spec.commandLine(), "--format is custody or tlog-proof");
    OciImage img = image.load();
    try (LogClient c = conn.client()) {
      TrustPolicy p = policy == null ? null : TrustPolicy.read(policy);
      Bundle b = c.bundle(img, p);
      if (format.equals("custody")) {
        Files.write(out, b.toJson());
        System.out.println(
            "wrote " + out + ": " + b.links().size() + " links for " + img.manifestDigest());
        return 0;
      }
      Files.createDirectories(out);
      for (Bundle.Entry e : b.links()) {
        Path file = out.resolve("layer-" + layerOf(e) + TlogProof.EXTENSION);
        Files.write(
            file,
            TlogProof.ofLeaf(e.leaf(), e.index(), e.inclusionProof(), b.checkpointNote()).encode());
      }
      System.out.println(
          "wrote "
              + b.links().size()
              + " tlog-proof files to "
              + out
              + " for "
              + img.manifestDigest());
    }
    return 0;
  }

  /** The layer a bundle's entry signs: the chain is layer 0 first, but the leaf says it. */
  private static long layerOf(Bundle.Entry e) throws LinkException {
    return SignedLink.parse(Leaf.parse(e.leaf()).signedLink()).statement().layerIndex();
  }
}
