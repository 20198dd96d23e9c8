package dev.custody.verify;

import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkRules;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Checks a tlog-proof file ({@link TlogProof}) under a trust policy, offline, as C2SP's
 * verification steps say and then as Custody's link rules say:
 *
 * <ol>
 *   <li>the leaf hash is {@code SHA-256(0x00 ‖ extra)} (a file without {@code extra} is refused:
 *       the leaf cannot be known);
 *   <li>the checkpoint's origin is the policy's and a log key of the policy signed it;
 *   <li>the policy's witness quorum cosigned it;
 *   <li>the inclusion proof binds the leaf hash at {@code index} to the checkpoint's root;
 *   <li>the leaf is a layer link whose signature verifies and whose key the policy allows for its
 *       repository and layer at its log time; a bottom-layer link must also stand alone.
 * </ol>
 *
 * A link above layer 0 is checked alone: the links below it are in other files, so whether it
 * stands on its predecessor is for {@link ChainVerifier} with the whole chain.
 */
public final class TlogProofVerifier {
  /**
   * @param index the index the file names, when it parsed that far
   * @param link the link in the leaf, when it parsed
   * @param failures every check that failed, in the order above; empty when the proof verifies
   */
  public record Result(
      Optional<Checkpoint> checkpoint,
      OptionalLong index,
      Optional<Leaf> leaf,
      Optional<SignedLink> link,
      List<String> failures) {
    public Result {
      failures = List.copyOf(failures);
    }

    public boolean ok() {
      return failures.isEmpty();
    }

    /** One paragraph for a person: what the file proves, or each reason it does not. */
    public String report() {
      StringBuilder b = new StringBuilder();
      index.ifPresent(i -> b.append("entry ").append(i));
      link.ifPresent(
          l ->
              b.append(": layer ")
                  .append(l.statement().layerIndex())
                  .append(" of ")
                  .append(l.statement().repository())
                  .append(" (image ")
                  .append(l.statement().manifestDigest())
                  .append("), key_id ")
                  .append(HexFormat.of().formatHex(l.keyId())));
      checkpoint.ifPresent(
          c -> b.append(", in ").append(c.origin()).append(" at tree size ").append(c.size()));
      if (b.length() > 0) b.append('\n');
      for (String f : failures) b.append("  FAILED: ").append(f).append('\n');
      b.append(ok() ? "VERIFIED: signed, allowed, and publicly logged\n" : "NOT VERIFIED\n");
      return b.toString();
    }
  }

  private final TrustPolicy policy;
  private final CheckpointVerifier log;
  private final LinkVerifier links = LinkVerifier.fastest();

  public TlogProofVerifier(TrustPolicy policy) throws PolicyException {
    this.policy = policy;
    this.log = policy.logVerifier();
  }

  /** Verifies one file's bytes; never throws for what the file holds. */
  public Result verify(byte[] file) {
    List<String> failures = new ArrayList<>();
    TlogProof p;
    try {
      p = TlogProof.parse(file);
    } catch (TlogProofException e) {
      failures.add("not a valid tlog-proof: " + e.getMessage());
      return new Result(
          Optional.empty(), OptionalLong.empty(), Optional.empty(), Optional.empty(), failures);
    }
    Optional<byte[]> extra = p.extra();
    if (extra.isEmpty()) {
      failures.add(
          "the file has no extra line: Custody's proofs carry the logged leaf there, and "
              + "without it the leaf hash cannot be computed");
    }
    Checkpoint cp = null;
    try {
      cp = log.verify(p.checkpoint());
    } catch (CheckpointException e) {
      failures.add("checkpoint: " + e.getMessage());
    }
    if (cp != null) policy.witnessShortfall(p.checkpoint()).ifPresent(failures::add);
    if (cp != null && extra.isPresent()) {
      try {
        Proofs.verifyInclusion(
            p.index(), cp.size(), Hashes.leafHash(extra.get()), p.proof(), cp.rootHash());
      } catch (ProofException | IllegalArgumentException e) {
        failures.add("the inclusion proof does not hold: " + e.getMessage());
      }
    }
    Leaf leaf = null;
    SignedLink link = null;
    if (extra.isPresent()) {
      try {
        leaf = Leaf.parse(extra.get());
        link = SignedLink.parse(leaf.signedLink());
        link.verifySignature(links);
        policy.checkAllowed(link, leaf.logTimestampMs());
        if (link.statement().layerIndex() == 0) LinkRules.checkAlone(link.statement());
      } catch (LinkException | PolicyException e) {
        failures.add("the link: " + e.getMessage());
      }
    }
    return new Result(
        Optional.ofNullable(cp),
        OptionalLong.of(p.index()),
        Optional.ofNullable(leaf),
        Optional.ofNullable(link),
        failures);
  }
}
