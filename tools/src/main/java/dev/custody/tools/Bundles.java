package dev.custody.tools;

import dev.custody.api.v1.Chain;
import dev.custody.api.v1.GetChainRequest;
import dev.custody.api.v1.LogEntry;
import com.google.protobuf.ByteString;
import dev.custody.api.v1.FindLinksRequest;
import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.verify.Bundle;
import java.util.ArrayList;
import java.util.List;

/** A bundle from the log's answer to GetChain: the same facts, in the offline file format. */
final class Bundles {
  private Bundles() {}

  /**
   * Every chain whose top link names this image, oldest first: more than one means someone else
   * also signed an image with this digest, and the verifier should accept if any chain holds.
   */
  static List<Bundle> candidates(LogConnection c, Digest manifest, int layers) {
    List<Bundle> out = new ArrayList<>();
    var found = c.lookup().findLinks(FindLinksRequest.newBuilder().setManifestDigest(manifest.toString()).build());
    while (found.hasNext()) {
      LogEntry e = found.next();
      try {
        SignedLink l = SignedLink.parse(Leaf.parse(e.getLeaf().toByteArray()).signedLink());
        if (l.statement().layerIndex() != layers - 1) continue;
        out.add(of(c.lookup().getChain(GetChainRequest.newBuilder().setLinkId(ByteString.copyFrom(l.linkId())).build())));
      } catch (LinkException ignored) {
        // Not a link; the log's lookups are only hints.
      }
    }
    return out;
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
