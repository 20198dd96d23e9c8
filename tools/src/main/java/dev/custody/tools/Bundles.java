package dev.custody.tools;

import dev.custody.api.v1.Chain;
import dev.custody.api.v1.GetChainRequest;
import dev.custody.api.v1.LogEntry;
import com.google.protobuf.ByteString;
import dev.custody.api.v1.FindLinksRequest;
import dev.custody.api.v1.ManifestSigner;
import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.verify.Bundle;
import dev.custody.verify.TrustPolicy;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;

/** A bundle from the log's answer to GetChain: the same facts, in the offline file format. */
final class Bundles {
  private Bundles() {}

  /** Chains fetched for one image at most: each costs a GetChain and a verification. */
  static final int MAX_CANDIDATES = 16;

  /**
   * The chains whose top link names this image at its top layer, oldest first, at most
   * {@link #MAX_CANDIDATES}: more than one means someone else also signed an image with this
   * digest, and the verifier should accept if any chain holds. With a policy, only links by the
   * keys it allows at the top layer are asked for (FindLinks by manifest and signer), so links by
   * anyone else naming the image — however many — cannot crowd out the real chain.
   */
  static List<Bundle> candidates(LogConnection c, Digest manifest, int layers, TrustPolicy policy) {
    List<FindLinksRequest> queries = new ArrayList<>();
    if (policy == null) {
      queries.add(FindLinksRequest.newBuilder().setManifestDigest(manifest.toString()).build());
    } else {
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (TrustPolicy.Signer s : policy.signers()) {
        if (layers - 1 < s.minLayer() || layers - 1 > s.maxLayer() || !seen.add(HexFormat.of().formatHex(s.keyId()))) {
          continue;
        }
        queries.add(FindLinksRequest.newBuilder().setManifestSigner(ManifestSigner.newBuilder()
            .setManifestDigest(manifest.toString()).setKeyId(ByteString.copyFrom(s.keyId()))).build());
      }
    }
    java.util.TreeMap<Long, byte[]> tops = new java.util.TreeMap<>(); // log index -> link_id, oldest first
    collect(c, queries, layers, tops);
    if (tops.isEmpty() && policy != null) {
      // No trusted key signed the top layer: the chains others made still say why the image fails.
      collect(c, List.of(FindLinksRequest.newBuilder().setManifestDigest(manifest.toString()).build()), layers, tops);
    }
    List<Bundle> out = new ArrayList<>();
    for (byte[] top : tops.values()) {
      if (out.size() == MAX_CANDIDATES) break;
      out.add(of(c.lookup().getChain(GetChainRequest.newBuilder().setLinkId(ByteString.copyFrom(top)).build())));
    }
    return out;
  }

  /**
   * The one of {@code chains} to ship with {@code img}: the only one, or, when someone else signed
   * an image with this digest too, the first that verifies under {@code policy}.
   *
   * @throws IllegalStateException no chain, or several and no policy to choose, or none that verifies
   */
  static Bundle choose(dev.custody.oci.OciImage img, List<Bundle> chains, TrustPolicy policy)
      throws dev.custody.verify.PolicyException {
    if (chains.isEmpty()) throw new IllegalStateException("no chain in the log ends in a link for " + img.manifestDigest());
    if (chains.size() == 1) return chains.get(0);
    if (policy == null) {
      throw new IllegalStateException(chains.size() + " chains in the log name this image; give --policy to keep "
          + "the one your signers made");
    }
    dev.custody.verify.ChainVerifier v = new dev.custody.verify.ChainVerifier(policy);
    return chains.stream().filter(x -> v.verify(img, x, null, null).ok()).findFirst().orElseThrow(
        () -> new IllegalStateException("none of the " + chains.size() + " chains for this image verifies under the policy"));
  }

  private static void collect(LogConnection c, List<FindLinksRequest> queries, int layers,
      java.util.TreeMap<Long, byte[]> tops) {
    for (FindLinksRequest q : queries) {
      var found = c.lookup().findLinks(q);
      while (found.hasNext()) {
        LogEntry e = found.next();
        try {
          SignedLink l = SignedLink.parse(Leaf.parse(e.getLeaf().toByteArray()).signedLink());
          if (l.statement().layerIndex() == layers - 1) tops.put(e.getIndex(), l.linkId());
        } catch (LinkException ignored) {
          // Not a link; the log's lookups are only hints.
        }
      }
    }
  }

  private static Bundle of(Chain chain) {
    List<Bundle.Entry> links = new ArrayList<>();
    for (LogEntry e : chain.getLinksList()) {
      links.add(new Bundle.Entry(e.getIndex(), e.getLeaf().toByteArray(),
          e.getInclusionProof().getHashesList().stream().map(h -> h.toByteArray()).toList()));
    }
    return new Bundle(chain.getCheckpoint().getSignedNote(), links);
  }
}
