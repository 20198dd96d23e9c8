package dev.custody.server.admission;

import dev.custody.chain.LinkException;
import dev.custody.chain.LinkRules;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.sequencer.Admitted;

/**
 * Admits signed layer links (docs/design/formats.md): strict parse, the signature, the rules a link
 * must meet alone, and, for every layer above 0, a predecessor that is already in the log and that
 * this link really stands on. The leaf wraps the link's bytes, as received, with the log's
 * timestamp.
 */
public final class LayerLinkAdmission implements Admission {
  /** A Leaf is at most 65,535 bytes (a tile entry) and adds 11 bytes of its own. */
  public static final int MAX_LINK_BYTES = 65_535 - 11;

  private final StoredLinks links;
  private final LinkVerifier verifier;

  /**
   * @param verifier checks signatures (every verifier gives the same verdict; the fastest that
   *     loads is chosen at start)
   */
  public LayerLinkAdmission(StoredLinks links, LinkVerifier verifier) {
    this.links = links;
    this.verifier = verifier;
  }

  @Override
  public int maxEntryBytes() {
    return MAX_LINK_BYTES;
  }

  @Override
  public Admitted admit(byte[] entry) throws AdmissionException {
    if (entry.length == 0)
      throw new AdmissionException.Malformed("entry is empty; send a signed link (custody sign)");
    if (entry.length > MAX_LINK_BYTES) {
      throw new AdmissionException.Malformed(
          "signed link is "
              + entry.length
              + " bytes; at most "
              + MAX_LINK_BYTES
              + " fit in a leaf");
    }
    SignedLink link;
    try {
      link = SignedLink.parse(entry);
    } catch (LinkException e) {
      throw new AdmissionException.Malformed("not a valid layer link: " + e.getMessage());
    }
    try {
      link.verifySignature(verifier);
      LinkRules.checkAlone(link.statement());
    } catch (LinkException e) {
      throw new AdmissionException.RuleViolation("not a valid layer link: " + e.getMessage());
    }
    Statement s = link.statement();
    if (s.hasPredecessor()) {
      StoredLinks.Stored below =
          links
              .byId(s.prevLinkId())
              .orElseThrow(
                  () ->
                      new AdmissionException.MissingPredecessor(
                          "the predecessor link (prev_link_id) is not in this log; submit the links below first"));
      try {
        LinkRules.checkOnTop(below.link(), link);
      } catch (LinkException e) {
        throw new AdmissionException.RuleViolation(
            "link does not stand on its predecessor: " + e.getMessage());
      }
    }
    return new Admitted(link.encoded(), true, link.linkId(), LinkIndex.keysOf(link));
  }
}
