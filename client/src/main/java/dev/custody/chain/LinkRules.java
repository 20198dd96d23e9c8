package dev.custody.chain;

import java.util.Arrays;

/**
 * The chain rules of docs/design/formats.md, in one place for the log's admission and the client's
 * verifier: a bottom link stands on nothing and its chain ID is its diff ID; any other link stands
 * on the link one layer below, and its chain ID follows from that link's.
 */
public final class LinkRules {
  private LinkRules() {}

  /** The rules a link must meet on its own. */
  public static void checkAlone(Statement s) throws LinkException {
    if (s.layerIndex() == 0) {
      if (s.hasPredecessor()) throw new LinkException("layer 0 must have a zero prev_link_id");
      if (!s.chainId().equals(s.diffId()))
        throw new LinkException("layer 0's chain_id must equal its diff_id");
    } else if (!s.hasPredecessor()) {
      throw new LinkException(
          "layer " + s.layerIndex() + " must name the link below it in prev_link_id");
    }
  }

  /** The rules between a link and the link it names as its predecessor. */
  public static void checkOnTop(SignedLink below, SignedLink link) throws LinkException {
    Statement p = below.statement();
    Statement s = link.statement();
    if (!Arrays.equals(s.prevLinkId(), below.linkId())) {
      throw new LinkException("prev_link_id does not name the link below");
    }
    if (s.layerIndex() != p.layerIndex() + 1) {
      throw new LinkException(
          "layer_index "
              + s.layerIndex()
              + " is not one above its predecessor's "
              + p.layerIndex());
    }
    if (!s.chainId().equals(ChainIds.next(p.chainId(), s.diffId()))) {
      throw new LinkException(
          "chain_id does not follow from the predecessor's chain_id and this layer's diff_id");
    }
  }
}
