package dev.custody.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.LinkException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.io.Home;
import dev.custody.logclient.LogClient;
import dev.custody.oci.OciImage;
import dev.custody.registry.ImageReference;
import dev.custody.registry.Platform;
import dev.custody.registry.RegistryClient;
import dev.custody.tiles.TileClient;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.CheckpointStore;
import dev.custody.verify.Printable;
import dev.custody.verify.TrustPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = {
      "Verify an image's whole chain of custody against a trust policy: every layer signed "
          + "by a key the policy allows for it, the links in order and matching the image, every "
          + "link in the log, the checkpoint signed by the log and consistent with the checkpoints "
          + "seen before. Exit code 0 only if all of it holds.",
      "",
      "Online, by reference; offline, from the bundle attached in the registry:",
      "  custody verify --policy policy.json registry.example/team/app:1.0",
      "  custody verify --policy policy.json --offline registry.example/team/app:1.0",
      "From an OCI layout, online; offline, from a bundle file:",
      "  custody verify --policy policy.json --layout ./oci --image app",
      "  custody verify --policy policy.json --layout ./oci --image app \\",
      "      --bundle b.json",
      "",
      "Exit code 1: not verified. Exit code 2: the check could not be made (a registry or "
          + "the log refused)."
    })
final class VerifyCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "REF",
      description =
          "The image by reference: "
              + "HOST[:PORT]/REPO[:TAG|@sha256:...] (its manifest and config are read from the registry; layers are not downloaded)")
  String ref;

  @ArgGroup(exclusive = false)
  ImageOptions image;

  @Option(
      names = "--offline",
      description =
          "With REF: verify from the bundles attached to the image in its registry "
              + "(custody attach), without asking the log")
  boolean offline;

  @Option(
      names = "--signed-repository",
      description =
          "With REF: the repository the image was signed for, when "
              + "REF is a mirror or copy of it. Default: REF's own repository (a signed image re-tagged into another "
              + "repository does not verify there)")
  String signedRepository;

  @Mixin RegistryOptions registry;

  @Option(
      names = "--policy",
      required = true,
      description = "Trust policy (JSON): the log and the allowed signers")
  Path policy;

  @Option(
      names = "--bundle",
      description = "Verify offline from this bundle (custody bundle) instead of asking the log")
  Path bundle;

  @Option(
      names = "--tiles",
      description =
          "With --bundle: take the checkpoint and every proof fresh from the log's "
              + "tlog-tiles (an http(s) prefix or a directory) instead of the bundle, each tile checked against the signed root")
  String tiles;

  @Option(
      names = "--checkpoint-store",
      description =
          "Where to remember the newest checkpoint per log. "
              + "Default: ~/.custody/checkpoints online, none offline")
  Path store;

  @Option(names = "--json", description = "Print the result as JSON")
  boolean json;

  @Mixin LogOptions conn;

  @Override
  public Integer call() throws Exception {
    TrustPolicy p = TrustPolicy.read(policy);
    if ((ref == null) == (image == null))
      throw new IllegalArgumentException("name the image: REF, or --layout/--archive/--manifest");
    if (offline && (ref == null || bundle != null)) {
      throw new IllegalArgumentException(
          "--offline goes with REF; for an image on disk, verify offline with --bundle");
    }
    if (ref != null) return byReference(p);
    OciImage img;
    try {
      img = image.load();
    } catch (LinkException e) {
      System.out.println("NOT VERIFIED: " + Printable.of(e.getMessage()));
      return 1;
    }
    ChainVerifier verifier = new ChainVerifier(p);
    ChainVerifier.Result r;
    if (bundle != null && tiles != null) {
      // The links come from the bundle; the checkpoint and the proofs from the log's tiles,
      // verified.
      TileClient client = new TileClient(TileClient.fetcher(tiles), p.logVerifier());
      SignedCheckpoint cp = client.checkpoint();
      TileClient.Tree tree = client.tree(cp.checkpoint());
      List<Bundle.Entry> fresh = new ArrayList<>();
      for (Bundle.Entry e : Bundle.parse(Files.readAllBytes(bundle)).links()) {
        if (e.index() >= cp.size())
          throw new IllegalStateException(
              "link at index " + e.index() + " is beyond the log's size " + cp.size());
        fresh.add(
            new Bundle.Entry(e.index(), e.leaf(), tree.proofs().inclusion(e.index(), cp.size())));
      }
      Path s = store != null ? store : defaultStore();
      r =
          verifier.verify(
              img,
              new Bundle(cp.note(), fresh),
              new CheckpointStore(s),
              (from, to) -> client.tree(cp.checkpoint()).proofs().consistency(from, to));
    } else if (bundle != null) {
      Bundle b = Bundle.parse(Files.readAllBytes(bundle));
      r = verifier.verify(img, b, store == null ? null : new CheckpointStore(store), null);
    } else {
      Path s = store != null ? store : defaultStore();
      try (LogClient c = conn.client()) {
        ReferenceVerifier.Verdict v =
            new ReferenceVerifier(p, null, null, c, new CheckpointStore(s)).check(img, null);
        if (v.result() == null) return report(img, null, v.failure());
        r = v.result();
      }
    }
    // The layer blobs are read only for a chain that verified: nothing an untrusted layout holds is
    // decompressed before the signatures say the image is worth checking.
    String blobFailure = null;
    if (r.ok()) {
      try {
        image.checkBlobs(img);
      } catch (LinkException e) {
        blobFailure = e.getMessage();
      }
    }
    return report(img, r, blobFailure);
  }

  /**
   * REF: the image from its registry, the chain from the log or (--offline) from the bundles
   * attached to it.
   */
  private int byReference(TrustPolicy p) throws Exception {
    ImageReference r = ImageReference.parse(ref);
    Path s = store != null ? store : offline ? null : defaultStore();
    try (LogClient c = offline ? null : conn.client()) {
      ReferenceVerifier v =
          new ReferenceVerifier(
              p,
              registry.client(),
              Platform.parse(registry.platform),
              c,
              s == null ? null : new CheckpointStore(s));
      RegistryClient.RemoteImage remote = v.resolve(r);
      ReferenceVerifier.Verdict verdict =
          v.check(remote, signedRepository != null ? signedRepository : r.repositoryName());
      return report(remote.image(), verdict.result(), verdict.failure());
    }
  }

  /** Where verifiers remember the newest checkpoint of each log, unless told otherwise. */
  static Path defaultStore() {
    return Home.dir().resolve(".custody").resolve("checkpoints");
  }

  /**
   * Prints the verdict and returns the exit code.
   *
   * @param r the chain's verification, or null when no chain was found
   * @param failure why the image fails beyond {@code r} (or, without {@code r}, at all), or null
   */
  private int report(OciImage img, ChainVerifier.Result r, String failure) throws Exception {
    boolean ok = r != null && r.ok() && failure == null;
    if (json) {
      ObjectMapper mapper = new ObjectMapper();
      // Jackson escapes every control character: a field from a bundle cannot forge a line or a
      // field.
      System.out.println(mapper.writeValueAsString(Verdicts.json(mapper, img, r, failure)));
    } else if (r == null || r.ok() && failure != null) {
      System.out.println("NOT VERIFIED: " + Printable.of(failure));
    } else {
      System.out.println("image " + img.manifestDigest() + " (" + img.layers() + " layers)");
      System.out.print(r.report());
    }
    return ok ? 0 : 1;
  }
}
