package dev.custody.tools;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.logclient.LogClient;
import dev.custody.registry.AttachedBundles;
import dev.custody.registry.Descriptor;
import dev.custody.registry.RegistryClient;
import dev.custody.verify.Bundle;
import dev.custody.verify.TrustPolicy;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "attach",
    mixinStandardHelpOptions = true,
    description = {
      "Fetch an image's chain from the log and attach it to the image in its registry, as an OCI 1.1",
      "referrer (artifactType "
          + AttachedBundles.ARTIFACT_TYPE
          + "), so that verifiers can check the",
      "image offline with nothing but the registry: custody verify --offline REF.",
      "",
      "  custody attach registry.example/team/app:1.0"
    })
final class AttachCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
      paramLabel = "REF",
      description = "The image: HOST[:PORT]/REPO[:TAG|@sha256:...]")
  String ref;

  @Option(
      names = "--policy",
      description =
          "When the log holds several chains for the image (someone else signed "
              + "it too), attach the one that verifies under this policy")
  Path policy;

  @Mixin LogOptions conn;
  @Mixin RegistryOptions registry;

  @Override
  public Integer call() throws Exception {
    RegistryClient.RemoteImage image = registry.resolve(ref);
    Bundle b;
    // Everything is read from the log before anything is written to the registry: a log that
    // fails leaves the registry as it was.
    try (LogClient c = conn.client()) {
      TrustPolicy p = policy == null ? null : TrustPolicy.read(policy);
      b = c.bundle(image.image(), p);
    }
    long size = Checkpoint.ofNote(b.checkpointNote()).size();
    Descriptor d = AttachedBundles.attach(registry.client(), image, b, size);
    System.out.println(
        "attached the chain of "
            + image.ref()
            + " ("
            + b.links().size()
            + " links, checkpoint size "
            + size
            + ") as "
            + d.digest());
    return 0;
  }
}
