package dev.custody.server.cluster;

import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.merkle.Hashes;
import dev.custody.server.admission.LayerLinkAdmission;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.sequencer.Admitted;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * What a batch must be to enter the replicated log: checked on the leader before it is proposed to
 * the others ({@code startTransaction}: a batch that fails is refused and never commits) and again
 * by every node before it applies one ({@code applyTransaction}: a node that meets a committed
 * batch it cannot apply stops, it never skips, since skipping on one node and applying on another
 * forks).
 *
 * <p>Every field a proposer sends is either recomputed from the entry's body and compared, or
 * bounded: a body is non-empty and within the entry format's limit; a link parses, its dedup key is
 * its link id and its lookup keys are the ones its statement gives ({@link LinkIndex#keysOf}); an
 * opaque entry's dedup key is its leaf hash, with no lookups. So no proposer chooses a leaf hash,
 * an index key or an oversize leaf. {@link #problem} depends on the batch alone (every node reaches
 * the same verdict); {@link #clockProblem} reads the leader's clock and runs only before commit.
 */
final class ProposalCheck {
  private ProposalCheck() {}

  /**
   * How far ahead of the leader's clock a proposal's timestamp may be: a follower's clock a little
   * fast, not a log clock pushed into the future (the log's time never goes back, so one far-future
   * batch would stamp every later entry).
   */
  static final long MAX_CLOCK_LEAD_MS = 5_000;

  /** Why this batch may not be applied, or empty when it may. Deterministic. */
  static Optional<String> problem(BatchCodec.Proposal p) {
    if (p.timestampMs() < 0) return Optional.of("a negative timestamp " + p.timestampMs());
    List<Admitted> entries = p.entries();
    for (int i = 0; i < entries.size(); i++) {
      Optional<String> bad = entryProblem(entries.get(i));
      if (bad.isPresent()) return Optional.of("entry " + i + ": " + bad.get());
    }
    return Optional.empty();
  }

  /**
   * Why the leader, reading its clock at {@code nowMs}, refuses this batch's timestamp, if it does.
   */
  static Optional<String> clockProblem(BatchCodec.Proposal p, long nowMs) {
    if (p.timestampMs() > nowMs + MAX_CLOCK_LEAD_MS) {
      return Optional.of(
          "its timestamp "
              + p.timestampMs()
              + " is "
              + (p.timestampMs() - nowMs)
              + " ms ahead of the leader's clock (at most "
              + MAX_CLOCK_LEAD_MS
              + ")");
    }
    return Optional.empty();
  }

  private static Optional<String> entryProblem(Admitted a) {
    byte[] body = a.body();
    if (body.length == 0) return Optional.of("an empty body");
    if (!a.timestamped()) {
      if (body.length > OpaqueAdmission.MAX_ENTRY_BYTES)
        return Optional.of(
            "a body of "
                + body.length
                + " bytes (at most "
                + OpaqueAdmission.MAX_ENTRY_BYTES
                + ")");
      if (!Arrays.equals(a.dedupKey(), Hashes.leafHash(body)))
        return Optional.of("a leaf hash that is not the hash of its body");
      if (!a.lookupKeys().isEmpty()) return Optional.of("lookup keys on an opaque entry");
      return Optional.empty();
    }
    if (body.length > LayerLinkAdmission.MAX_LINK_BYTES)
      return Optional.of(
          "a link of "
              + body.length
              + " bytes (at most "
              + LayerLinkAdmission.MAX_LINK_BYTES
              + ")");
    SignedLink link;
    try {
      link = SignedLink.parse(body);
    } catch (LinkException | RuntimeException e) {
      return Optional.of("a body that is not a signed link: " + e.getMessage());
    }
    if (!Arrays.equals(a.dedupKey(), link.linkId()))
      return Optional.of("an entry id that is not the link's id");
    List<byte[]> expected = LinkIndex.keysOf(link);
    List<byte[]> given = a.lookupKeys();
    if (expected.size() != given.size())
      return Optional.of(given.size() + " lookup keys where the link has " + expected.size());
    for (int j = 0; j < expected.size(); j++) {
      if (!Arrays.equals(expected.get(j), given.get(j)))
        return Optional.of("lookup key " + j + " is not the link's");
    }
    return Optional.empty();
  }
}
