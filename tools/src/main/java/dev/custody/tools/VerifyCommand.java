package dev.custody.tools;

import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.oci.OciImage;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.CheckpointStore;
import dev.custody.verify.Printable;
import dev.custody.verify.TrustPolicy;
import dev.custody.chain.LinkException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.tiles.TileClient;
import java.util.ArrayList;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import dev.custody.registry.AttachedBundles;
import dev.custody.registry.RegistryClient;

@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Verify an image's whole chain of custody against a trust policy: every layer signed by a key the",
        "policy allows for it, the links in order and matching the image, every link in the log, the checkpoint",
        "signed by the log and consistent with the checkpoints seen before. Exit code 0 only if all of it holds.",
        "",
        "",
        "  custody verify --policy policy.json registry.example/team/app:1.0              (online)",
        "  custody verify --policy policy.json --offline registry.example/team/app:1.0    (the attached bundle only)",
        "  custody verify --policy policy.json --layout ./oci --image app                 (online)",
        "  custody verify --policy policy.json --layout ./oci --image app --bundle b.json (offline)",
        "",
        "Exit code 1: not verified. Exit code 2: the check could not be made (a registry or the log refused)."})
final class VerifyCommand implements Callable<Integer> {
  @Parameters(index = "0", arity = "0..1", paramLabel = "REF", description = "The image by reference: "
      + "HOST[:PORT]/REPO[:TAG|@sha256:...] (its manifest and config are read from the registry; layers are not downloaded)")
  String ref;

  @ArgGroup(exclusive = false)
  ImageOptions image;

  @Option(names = "--offline", description = "With REF: verify from the bundles attached to the image in its registry "
      + "(custody attach), without asking the log")
  boolean offline;

  @Option(names = "--signed-repository", description = "With REF: the repository the image was signed for, when "
      + "REF is a mirror or copy of it. Default: REF's own repository (a signed image re-tagged into another "
      + "repository does not verify there)")
  String signedRepository;

  @Mixin RegistryOptions registry;

  @Option(names = "--policy", required = true, description = "Trust policy (JSON): the log and the allowed signers")
  Path policy;

  @Option(names = "--bundle", description = "Verify offline from this bundle (custody bundle) instead of asking the log")
  Path bundle;

  @Option(names = "--tiles", description = "With --bundle: take the checkpoint and every proof fresh from the log's "
      + "tlog-tiles (an http(s) prefix or a directory) instead of the bundle, each tile checked against the signed root")
  String tiles;

  @Option(names = "--checkpoint-store", description = "Where to remember the newest checkpoint per log. "
      + "Default: ~/.custody/checkpoints online, none offline")
  Path store;

  @Option(names = "--json", description = "Print the result as JSON")
  boolean json;

  @Mixin LogConnection.Options conn;

  @Override public Integer call() throws Exception {
    TrustPolicy p = TrustPolicy.read(policy);
    if ((ref == null) == (image == null)) throw new IllegalArgumentException("name the image: REF, or --layout/--archive/--manifest");
    if (offline && (ref == null || bundle != null)) {
      throw new IllegalArgumentException("--offline goes with REF; for an image on disk, verify offline with --bundle");
    }
    OciImage img;
    RegistryClient.RemoteImage remote = null;
    try {
      if (ref != null) {
        remote = registry.resolve(ref);
        img = remote.image();
      } else {
        img = image.load();
      }
    } catch (LinkException e) {
      System.out.println("NOT VERIFIED: " + Printable.of(e.getMessage()));
      return 1;
    }
    ChainVerifier verifier = new ChainVerifier(p);
    ChainVerifier.Result r;
    if (offline) {
      // A registry that refuses the listing throws (exit 2): never read as "nothing attached".
      List<AttachedBundles.Found> found = AttachedBundles.find(registry.client(), remote);
      r = null;
      List<String> unusable = new ArrayList<>();
      for (AttachedBundles.Found f : found) {
        if (f.bundle() == null) {
          unusable.add(f.artifactDigest() + ": " + f.problem());
          continue;
        }
        r = verifier.verify(img, f.bundle(), store == null ? null : new CheckpointStore(store), null);
        if (r.ok()) break;
      }
      if (r == null) {
        System.out.println("NOT VERIFIED: no Custody bundle is attached to " + remote.ref()
            + (unusable.isEmpty() ? " (custody attach puts one there)" : "; unusable: " + Printable.of(String.join("; ", unusable))));
        return 1;
      }
    } else if (bundle != null && tiles != null) {
      // The links come from the bundle; the checkpoint and the proofs from the log's tiles, verified.
      TileClient client = new TileClient(TileClient.fetcher(tiles), p.logVerifier());
      SignedCheckpoint cp = client.checkpoint();
      TileClient.Tree tree = client.tree(cp.checkpoint());
      List<Bundle.Entry> fresh = new ArrayList<>();
      for (Bundle.Entry e : Bundle.parse(Files.readAllBytes(bundle)).links()) {
        if (e.index() >= cp.size()) throw new IllegalStateException("link at index " + e.index() + " is beyond the log's size " + cp.size());
        fresh.add(new Bundle.Entry(e.index(), e.leaf(), tree.proofs().inclusion(e.index(), cp.size())));
      }
      Path s = store != null ? store : Path.of(System.getProperty("user.home"), ".custody", "checkpoints");
      r = verifier.verify(img, new Bundle(cp.note(), fresh), new CheckpointStore(s),
          (from, to) -> client.tree(cp.checkpoint()).proofs().consistency(from, to));
    } else if (bundle != null) {
      Bundle b = Bundle.parse(Files.readAllBytes(bundle));
      r = verifier.verify(img, b, store == null ? null : new CheckpointStore(store), null);
    } else {
      Path s = store != null ? store : Path.of(System.getProperty("user.home"), ".custody", "checkpoints");
      try (LogConnection c = new LogConnection(conn)) {
        List<Bundle> chains = Bundles.candidates(c, img.manifestDigest(), img.layers(), p);
        if (chains.isEmpty()) {
          System.out.println("NOT VERIFIED: no chain in the log ends in a link for image " + img.manifestDigest()
              + " at layer " + (img.layers() - 1));
          return 1;
        }
        r = null;
        for (Bundle b : chains) {
          r = verifier.verify(img, b, new CheckpointStore(s), (from, to) -> c.log()
              .getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFromSize(from).setToSize(to).build())
              .getHashesList().stream().map(h -> h.toByteArray()).toList());
          if (r.ok()) break;
        }
      }
    }
    // The layer blobs are read only for a chain that verified: nothing an untrusted layout holds is
    // decompressed before the signatures say the image is worth checking.
    String blobFailure = null;
    if (r.ok() && image != null) {
      try {
        image.checkBlobs(img);
      } catch (LinkException e) {
        blobFailure = e.getMessage();
      }
    }
    if (r.ok() && remote != null) blobFailure = repositoryFailure(r, img);
    boolean ok = r.ok() && blobFailure == null;
    if (json) {
      com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
      com.fasterxml.jackson.databind.node.ObjectNode o = mapper.createObjectNode();
      o.put("verified", ok).put("manifest_digest", img.manifestDigest().toString());
      com.fasterxml.jackson.databind.node.ArrayNode layers = o.putArray("layers");
      for (ChainVerifier.LayerResult l : r.layers()) {
        com.fasterxml.jackson.databind.node.ObjectNode x = layers.addObject().put("layer", l.layer()).put("ok", l.ok());
        l.failure().ifPresent(f -> x.put("failure", f));
        l.keyId().ifPresent(k -> x.put("key_id", k));
        l.repository().ifPresent(rep -> x.put("repository", rep));
      }
      com.fasterxml.jackson.databind.node.ArrayNode failures = o.putArray("log_failures");
      r.logFailures().forEach(failures::add);
      if (blobFailure != null) o.put("blob_failure", blobFailure);
      // Jackson escapes every control character: a field from a bundle cannot forge a line or a field.
      System.out.println(mapper.writeValueAsString(o));
    } else if (blobFailure != null) {
      System.out.println("NOT VERIFIED: " + Printable.of(blobFailure));
    } else {
      System.out.println("image " + img.manifestDigest() + " (" + img.layers() + " layers)");
      System.out.print(r.report());
    }
    return ok ? 0 : 1;
  }

  /**
   * By reference, the top link must be for the repository the image was pulled from: otherwise an
   * image signed for one repository, re-tagged into another, would pass there as if its signers had
   * meant it for it.
   */
  private String repositoryFailure(ChainVerifier.Result r, OciImage img) {
    String expected = signedRepository != null ? signedRepository : dev.custody.registry.ImageReference.parse(ref).repositoryName();
    String signedFor = r.layers().get(img.layers() - 1).repository().orElse("");
    if (signedFor.equals(expected)) return null;
    return "the image at " + ref + " was signed for repository " + signedFor + ", not " + expected
        + " (re-tagged or copied? give --signed-repository " + signedFor + " if this is a mirror of it)";
  }
}
