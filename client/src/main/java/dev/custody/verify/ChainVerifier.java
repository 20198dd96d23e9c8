package dev.custody.verify;

import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkRules;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.oci.OciImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Verifies that an image's whole chain of custody was publicly logged (docs/design/formats.md,
 * "Verification of an image"): every layer signed by a key the policy allows there, the links in
 * order and on each other, matching the image, and every link included in a checkpoint signed by
 * the log and consistent with what this client saw before. Fails closed, and says per layer which
 * rule failed.
 */
public final class ChainVerifier {
  /** The verdict on one layer: empty failure means every rule held. */
  public record LayerResult(
      int layer, Optional<String> failure, Optional<String> keyId, Optional<String> repository) {
    public boolean ok() {
      return failure.isEmpty();
    }
  }

  /** The verdict on the image: ok only if the log checks passed and every layer did. */
  public record Result(
      List<LayerResult> layers, List<String> logFailures, Optional<Checkpoint> checkpoint) {
    public boolean ok() {
      return logFailures.isEmpty()
          && !layers.isEmpty()
          && layers.stream().allMatch(LayerResult::ok);
    }

    /** A report for people: one line per layer and per log failure. */
    public String report() {
      StringBuilder b = new StringBuilder();
      for (LayerResult l : layers) {
        b.append("layer ")
            .append(l.layer)
            .append(": ")
            .append(l.ok() ? "OK" : "FAIL: " + Printable.of(l.failure.get()));
        l.repository.ifPresent(r -> b.append("  [").append(Printable.of(r)).append("]"));
        b.append('\n');
      }
      for (String f : logFailures) b.append("log: FAIL: ").append(Printable.of(f)).append('\n');
      b.append(
          ok()
              ? "VERIFIED: every layer is signed by an allowed key and publicly logged\n"
              : "NOT VERIFIED\n");
      return b.toString();
    }
  }

  private record Placed(Bundle.Entry entry, Leaf leaf, SignedLink link) {}

  private final TrustPolicy policy;

  /** Checks link signatures; one per verifier, so that a key's subgroup check is done once. */
  private final LinkVerifier verifier = LinkVerifier.fastest();

  private final CheckpointVerifier log;

  public ChainVerifier(TrustPolicy policy) throws PolicyException {
    this.policy = policy;
    this.log = policy.logVerifier();
  }

  /**
   * @param store the checkpoints seen before, or null to skip that check
   * @param prover consistency proofs from the log, or null when offline
   */
  public Result verify(
      OciImage image,
      Bundle bundle,
      CheckpointStore store,
      CheckpointStore.ConsistencyProver prover) {
    List<String> logFailures = new ArrayList<>();
    Checkpoint cp = null;
    try {
      cp = log.verify(bundle.checkpointNote());
    } catch (CheckpointException e) {
      logFailures.add("checkpoint: " + e.getMessage());
    }
    if (cp != null) policy.witnessShortfall(bundle.checkpointNote()).ifPresent(logFailures::add);
    if (cp != null && store != null) {
      try {
        store.accept(log, cp, bundle.checkpointNote(), prover);
      } catch (CheckpointException | IOException e) {
        logFailures.add("consistency with checkpoints seen before: " + e.getMessage());
      }
    }

    List<Digest> chainIds = image.chainIds();
    List<LayerResult> layers = new ArrayList<>();
    List<SignedLink> links = new ArrayList<>();
    // Parse each entry once and place it by the layer it claims, so that a missing link fails
    // only its own layer.
    Placed[] byLayer = new Placed[image.layers()];
    for (Bundle.Entry e : bundle.links()) {
      try {
        Leaf leaf = Leaf.parse(e.leaf());
        SignedLink link = SignedLink.parse(leaf.signedLink());
        long layer = link.statement().layerIndex();
        if (layer >= byLayer.length) {
          logFailures.add(
              "the bundle has a link for layer " + layer + ", above the image's top layer");
        } else if (byLayer[(int) layer] != null) {
          logFailures.add("the bundle has two links for layer " + layer);
        } else {
          byLayer[(int) layer] = new Placed(e, leaf, link);
        }
      } catch (LinkException ex) {
        logFailures.add("the bundle holds an entry that is not a layer link: " + ex.getMessage());
      }
    }
    for (int i = 0; i < image.layers(); i++) {
      Placed p = byLayer[i];
      if (p == null) {
        layers.add(
            new LayerResult(
                i,
                Optional.of("no logged link for this layer"),
                Optional.empty(),
                Optional.empty()));
        links.add(null);
        continue;
      }
      SignedLink link = p.link;
      String failure;
      try {
        link.verifySignature(verifier);
        failure = check(i, p.entry, p.leaf, link, links, image, chainIds, cp);
      } catch (LinkException ex) {
        failure = ex.getMessage();
      }
      links.add(failure == null ? link : null);
      layers.add(
          new LayerResult(
              i,
              Optional.ofNullable(failure),
              Optional.ofNullable(link).map(l -> HexFormat.of().formatHex(l.keyId())),
              Optional.ofNullable(link).map(l -> l.statement().repository())));
    }
    return new Result(layers, logFailures, Optional.ofNullable(cp));
  }

  /** The first rule link {@code i} breaks, or null. */
  private String check(
      int i,
      Bundle.Entry e,
      Leaf leaf,
      SignedLink link,
      List<SignedLink> below,
      OciImage image,
      List<Digest> chainIds,
      Checkpoint cp) {
    Statement s = link.statement();
    if (s.layerIndex() != i) return "link is for layer " + s.layerIndex() + ", not " + i;
    try {
      policy.checkAllowed(link, leaf.logTimestampMs());
      if (i == 0) {
        LinkRules.checkAlone(s);
      } else if (below.get(i - 1) == null) {
        return "the link below did not verify, so this one cannot stand on it";
      } else {
        LinkRules.checkOnTop(below.get(i - 1), link);
      }
    } catch (PolicyException | LinkException ex) {
      return ex.getMessage();
    }
    if (!s.layerDigest().equals(image.layerDigests().get(i))) {
      return "signed layer digest "
          + s.layerDigest()
          + " is not the image's "
          + image.layerDigests().get(i);
    }
    if (!s.diffId().equals(image.diffIds().get(i)))
      return "signed diff_id is not the image's " + image.diffIds().get(i);
    if (!s.chainId().equals(chainIds.get(i)))
      return "signed chain_id is not the image's " + chainIds.get(i);
    if (i == image.layers() - 1 && !s.manifestDigest().equals(image.manifestDigest())) {
      return "the top link signs manifest "
          + s.manifestDigest()
          + ", but the image is "
          + image.manifestDigest()
          + " (an unsigned layer or a changed manifest)";
    }
    if (cp == null) return "no trusted checkpoint to prove this link was logged";
    try {
      Proofs.verifyInclusion(
          e.index(), cp.size(), Hashes.leafHash(e.leaf()), e.inclusionProof(), cp.rootHash());
    } catch (ProofException ex) {
      return "not proved to be in the log: " + ex.getMessage();
    }
    return null;
  }
}
