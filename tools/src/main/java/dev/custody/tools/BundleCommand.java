package dev.custody.tools;

import dev.custody.logclient.LogClient;
import dev.custody.oci.OciImage;
import dev.custody.verify.Bundle;
import dev.custody.verify.TrustPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "bundle",
    mixinStandardHelpOptions = true,
    description = {
      "Fetch everything needed to verify an image offline (its links, their proofs and the "
          + "signed checkpoint) and save it as one file, to ship beside the image."
    })
final class BundleCommand implements Callable<Integer> {
  @ArgGroup(exclusive = false, multiplicity = "1")
  ImageOptions image;

  @Option(names = "--out", required = true, description = "Bundle file to write")
  Path out;

  @Option(
      names = "--policy",
      description =
          "When the log holds several chains for the image (someone else signed "
              + "it too), keep the one that verifies under this policy")
  Path policy;

  @Mixin LogOptions conn;

  @Override
  public Integer call() throws Exception {
    OciImage img = image.load();
    try (LogClient c = conn.client()) {
      TrustPolicy p = policy == null ? null : TrustPolicy.read(policy);
      Bundle b = c.bundle(img, p);
      Files.write(out, b.toJson());
      System.out.println(
          "wrote " + out + ": " + b.links().size() + " links for " + img.manifestDigest());
    }
    return 0;
  }
}
