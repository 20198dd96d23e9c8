package dev.custody.tools;

import dev.custody.oci.OciImage;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.TrustPolicy;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "bundle", mixinStandardHelpOptions = true,
    description = {"Fetch everything needed to verify an image offline (its links, their proofs and the signed",
        "checkpoint) and save it as one file, to ship beside the image."})
final class BundleCommand implements Callable<Integer> {
  @ArgGroup(exclusive = false, multiplicity = "1")
  ImageOptions image;

  @Option(names = "--out", required = true, description = "Bundle file to write")
  Path out;

  @Option(names = "--policy", description = "When the log holds several chains for the image (someone else signed "
      + "it too), keep the one that verifies under this policy")
  Path policy;

  @Mixin LogConnection.Options conn;

  @Override public Integer call() throws Exception {
    OciImage img = image.load();
    try (LogConnection c = new LogConnection(conn)) {
      List<Bundle> chains = Bundles.candidates(c, img.manifestDigest(), img.layers(),
          policy == null ? null : TrustPolicy.read(policy));
      if (chains.isEmpty()) throw new IllegalStateException("no chain in the log ends in a link for " + img.manifestDigest());
      Bundle b = chains.get(0);
      if (chains.size() > 1) {
        if (policy == null) {
          throw new IllegalStateException(chains.size() + " chains in the log name this image; give --policy to keep "
              + "the one your signers made");
        }
        ChainVerifier v = new ChainVerifier(TrustPolicy.read(policy));
        b = chains.stream().filter(x -> v.verify(img, x, null, null).ok()).findFirst().orElseThrow(
            () -> new IllegalStateException("none of the " + chains.size() + " chains for this image verifies under the policy"));
      }
      Files.write(out, b.toJson());
      System.out.println("wrote " + out + ": " + b.links().size() + " links for " + img.manifestDigest());
    }
    return 0;
  }
}
