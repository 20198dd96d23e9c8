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

@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Verify an image's whole chain of custody against a trust policy: every layer signed by a key the",
        "policy allows for it, the links in order and matching the image, every link in the log, the checkpoint",
        "signed by the log and consistent with the checkpoints seen before. Exit code 0 only if all of it holds.",
        "",
        "  custody verify --policy policy.json --layout ./oci --image app               (online)",
        "  custody verify --policy policy.json --layout ./oci --image app --bundle b.json  (offline)"})
final class VerifyCommand implements Callable<Integer> {
  @ArgGroup(exclusive = false, multiplicity = "1")
  ImageOptions image;

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
    if (r.ok()) {
      try {
        image.checkBlobs(img);
      } catch (LinkException e) {
        blobFailure = e.getMessage();
      }
    }
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
}
