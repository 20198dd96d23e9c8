package dev.custody.server.admission;

import dev.custody.chain.LinkException;
import dev.custody.chain.LinkRules;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.sequencer.Admitted;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Admits signed layer links (docs/design/formats.md): strict parse, the signature, the rules a link
 * must meet alone, and, for every layer above 0, a predecessor that is already in the log and that
 * this link really stands on. The leaf wraps the link's bytes, as received, with the log's
 * timestamp.
 */
public final class LayerLinkAdmission implements Admission {
  /** A Leaf is at most 65,535 bytes (a tile entry) and adds 11 bytes of its own. */
  public static final int MAX_LINK_BYTES = 65_535 - 11;

  /** Links admitted lately, remembered parsed for the links that will stand on them. */
  static final int RECENT_LINKS = 4096;

  private final StoredLinks links;
  private final LinkVerifier verifier;

  /**
   * The links admitted lately, parsed, by link ID (least recently used out first). A team's next
   * layer usually stands on a link logged moments before; its leaf need not be read and parsed
   * again. An admitted link may never be logged (its commit failed, the request was refused), so
   * the cache answers only for a link ID the log holds; a link ID is the hash of the link's bytes,
   * so what it remembers is what the log holds.
   */
  private final Map<ByteBuffer, SignedLink> recent =
      new LinkedHashMap<>(RECENT_LINKS, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ByteBuffer, SignedLink> eldest) {
          return size() > RECENT_LINKS;
        }
      };

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
    return admit(entry, Earlier.NONE);
  }

  @Override
  public Optional<byte[]> idOf(byte[] entry) {
    try {
      return entry.length > MAX_LINK_BYTES
          ? Optional.empty()
          : Optional.of(SignedLink.parse(entry).linkId());
    } catch (LinkException notALink) {
      return Optional.empty();
    }
  }

  @Override
  public Admitted admit(byte[] entry, Earlier earlier) throws AdmissionException {
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
      SignedLink below = predecessor(s.prevLinkId(), earlier);
      try {
        LinkRules.checkOnTop(below, link);
      } catch (LinkException e) {
        throw new AdmissionException.RuleViolation(
            "link does not stand on its predecessor: " + e.getMessage());
      }
    }
    byte[] id = link.linkId();
    synchronized (recent) {
      recent.put(ByteBuffer.wrap(id), link);
    }
    return new Admitted(link.encoded(), true, id, LinkIndex.keysOf(link));
  }

  /**
   * The link {@code prevLinkId} names: in the log, else earlier in the same request (its own
   * admission checks its signature; the caller sequences this link only after it).
   */
  private SignedLink predecessor(byte[] prevLinkId, Earlier earlier) throws AdmissionException {
    SignedLink seen;
    synchronized (recent) {
      seen = recent.get(ByteBuffer.wrap(prevLinkId));
    }
    if (seen != null && links.holds(prevLinkId)) return seen;
    Optional<StoredLinks.Stored> logged = links.byId(prevLinkId);
    if (logged.isPresent()) return logged.get().link();
    Optional<byte[]> pending = earlier.entry(prevLinkId);
    if (pending.isPresent()) {
      try {
        return SignedLink.parse(pending.get());
      } catch (LinkException e) {
        throw new AdmissionException.RuleViolation(
            "the link it stands on, earlier in this request, is not a valid link: "
                + e.getMessage());
      }
    }
    throw new AdmissionException.MissingPredecessor(
        "the predecessor link (prev_link_id) is not in this log, nor earlier in this request; "
            + "submit the links below first");
  }
}
