package dev.custody.monitor;

import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.tiles.TileClient;
import dev.custody.tiles.Tiles;
import dev.custody.verify.PolicyException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Follows a log through its tiles: verifies each new checkpoint's signature and its consistency
 * with the last one seen, re-derives every new entry from verified entry bundles, and reports what
 * the rules flag (docs/design/formats.md, "What a monitor flags").
 */
public final class Monitor {
  /** Told how far a catch-up has come. */
  @FunctionalInterface
  public interface Progress {
    void update(long done, long total);
  }

  private static final HexFormat HEX = HexFormat.of();

  private final TileClient client;
  private final CheckpointVerifier log;
  private final WatchRules rules;

  /**
   * One verifier for the whole run, so that each signer's key is checked once, not once per link.
   */
  private final LinkVerifier verifier = LinkVerifier.fastest();

  public Monitor(TileClient client, WatchRules rules) throws PolicyException {
    this.client = client;
    this.log = rules.policy().logVerifier();
    this.rules = rules;
  }

  /** How a round ended. */
  public enum Outcome {
    /** Caught up (findings about signers may have been reported). */
    OK,
    /** The log is at fault: a bad or inconsistent checkpoint, or an entry that is no valid link. */
    LOG_FAULT,
    /**
     * The tiles could not be read, or the checkpoint lacked its witnesses: nothing is concluded;
     * retry.
     */
    RETRY
  }

  /**
   * One round: reads up to the log's current checkpoint, reporting to {@code out}, and advances
   * {@code state}. On a log fault, or when the tiles cannot be read, the state is left where it
   * was, so the next round looks again. A checkpoint is accepted only with the policy's witness
   * quorum, so that a log cannot show monitors a tree it does not show everyone.
   *
   * @return {@link Outcome#LOG_FAULT} when the round found the log at fault (a malformed entry
   *     still lets the state advance past it; an inconsistent or bad checkpoint does not)
   */
  public Outcome step(MonitorState state, Consumer<Finding> out, Progress progress)
      throws IOException {
    try {
      return round(state, out, progress);
    } catch (TileClient.MirrorException e) {
      out.accept(
          new Finding(
              Finding.MIRROR_UNAVAILABLE,
              false,
              -1,
              "cannot read the log's tiles (will retry): " + e.getMessage(),
              Map.of()));
      return Outcome.RETRY;
    } catch (UncheckedIOException e) {
      if (!(e.getCause() instanceof TileClient.MirrorException m)) throw e.getCause();
      out.accept(
          new Finding(
              Finding.MIRROR_UNAVAILABLE,
              false,
              -1,
              "cannot read the log's tiles (will retry): " + m.getMessage(),
              Map.of()));
      return Outcome.RETRY;
    }
  }

  private Outcome round(MonitorState state, Consumer<Finding> out, Progress progress)
      throws IOException {
    SignedCheckpoint cp;
    try {
      cp = client.checkpoint();
    } catch (CheckpointException e) {
      out.accept(
          new Finding(
              Finding.BAD_CHECKPOINT,
              true,
              -1,
              "the log's checkpoint does not verify: " + e.getMessage(),
              Map.of()));
      return Outcome.LOG_FAULT;
    }
    int quorum = rules.policy().witnessQuorum();
    if (quorum > 0) {
      int cosigned = rules.policy().witnessCosignatures(cp.note());
      if (cosigned < quorum) {
        out.accept(
            new Finding(
                Finding.UNWITNESSED_CHECKPOINT,
                false,
                -1,
                "the checkpoint of size "
                    + cp.size()
                    + " carries "
                    + cosigned
                    + " valid witness cosignature(s); the policy asks for "
                    + quorum
                    + ": not accepted (will retry)",
                Map.of("tree_size", "" + cp.size())));
        return Outcome.RETRY;
      }
    }
    Checkpoint old = null;
    if (state.checkpointNote != null) {
      try {
        old =
            log.readOwn(
                state.checkpointNote); // checked when saved, perhaps by a key since rotated away
      } catch (CheckpointException e) {
        throw new IOException("the saved state's checkpoint is unreadable: " + e.getMessage());
      }
    }
    if (old != null && cp.size() <= old.size()) {
      if (cp.size() == old.size() && !Arrays.equals(cp.checkpoint().rootHash(), old.rootHash())) {
        out.accept(fault(cp, old, "the log signed two different roots for tree size " + cp.size()));
        return Outcome.LOG_FAULT;
      }
      return Outcome.OK; // nothing new (or a lagging mirror)
    }
    TileClient.Tree tree;
    try {
      tree = client.tree(cp.checkpoint());
    } catch (CheckpointException e) {
      out.accept(
          new Finding(
              Finding.BAD_CHECKPOINT,
              true,
              -1,
              e.getMessage(),
              Map.of("tree_size", "" + cp.size())));
      return Outcome.LOG_FAULT;
    }
    if (old != null && old.size() > 0) {
      try {
        Proofs.verifyConsistency(
            old.size(),
            cp.size(),
            tree.proofs().consistency(old.size(), cp.size()),
            old.rootHash(),
            cp.checkpoint().rootHash());
      } catch (ProofException | RuntimeException e) {
        if (unreadable(e))
          throw (RuntimeException) e; // reading tiles failed: no verdict; step() retries
        out.accept(
            fault(
                cp,
                old,
                "checkpoint of size "
                    + cp.size()
                    + " is not consistent with the one of size "
                    + old.size()
                    + " seen before: "
                    + e.getMessage()));
        return Outcome.LOG_FAULT;
      }
    }
    long total = cp.size();
    boolean malformed = false;
    for (long bundle = state.nextIndex / Tiles.WIDTH; bundle * Tiles.WIDTH < total; bundle++) {
      List<byte[]> entries;
      try {
        entries = tree.entries(bundle);
      } catch (TileClient.MirrorException e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        if (unreadable(e)) throw (RuntimeException) e;
        out.accept(
            new Finding(
                Finding.MALFORMED_LEAF,
                true,
                bundle * Tiles.WIDTH,
                "entry bundle " + bundle + " does not match the signed tree: " + e.getMessage(),
                Map.of()));
        return Outcome.LOG_FAULT;
      }
      // Signature checks dominate and are independent: run them on every core, then apply the
      // rules (which carry state from entry to entry) in log order.
      long first = bundle * Tiles.WIDTH;
      List<Object> parsed =
          IntStream.range(0, entries.size())
              .parallel()
              .mapToObj(i -> parse(entries.get(i)))
              .toList();
      for (int i = 0; i < entries.size(); i++) {
        long index = first + i;
        if (index < state.nextIndex) continue;
        malformed |= !check(index, parsed.get(i), state, out);
      }
      progress.update(Math.min(total, (bundle + 1) * Tiles.WIDTH), total);
    }
    state.nextIndex = total;
    state.checkpointNote = cp.note();
    return malformed ? Outcome.LOG_FAULT : Outcome.OK;
  }

  private record Parsed(Leaf leaf, SignedLink link) {}

  /** A verified link, or the {@link LinkException} that says why the entry is not one. */
  private Object parse(byte[] leafBytes) {
    try {
      Leaf leaf = Leaf.parse(leafBytes);
      SignedLink link = SignedLink.parse(leaf.signedLink());
      link.verifySignature(verifier);
      return new Parsed(leaf, link);
    } catch (LinkException e) {
      return e;
    }
  }

  /** Applies the rules to one entry; false when the entry itself is a log fault. */
  private boolean check(long index, Object parsed, MonitorState state, Consumer<Finding> out) {
    if (parsed instanceof LinkException e) {
      out.accept(
          new Finding(
              Finding.MALFORMED_LEAF,
              true,
              index,
              "the log holds an entry that is not a valid link: " + e.getMessage(),
              Map.of()));
      return false;
    }
    Leaf leaf = ((Parsed) parsed).leaf();
    SignedLink link = ((Parsed) parsed).link();
    Statement s = link.statement();
    String linkId = HEX.formatHex(link.linkId());
    Map<String, String> d =
        Map.of(
            "link_id",
            linkId,
            "repository",
            s.repository(),
            "layer",
            Long.toString(s.layerIndex()),
            "key_id",
            HEX.formatHex(link.keyId()),
            "manifest_digest",
            s.manifestDigest().toString());
    String first = state.manifestFirstLink.putIfAbsent(s.manifestDigest().toString(), linkId);
    if (first != null && !first.equals(linkId)) {
      out.accept(
          new Finding(
              Finding.SECOND_CHAIN,
              false,
              index,
              "a second link names image " + s.manifestDigest() + " (first: link " + first + ")",
              d));
    }
    if (s.hasPredecessor()) {
      String key = s.repository() + " " + HEX.formatHex(s.prevLinkId());
      String layer = state.successorLayer.putIfAbsent(key, s.layerDigest().toString());
      if (layer != null && !layer.equals(s.layerDigest().toString())) {
        out.accept(
            new Finding(
                Finding.FORK,
                false,
                index,
                "two different layers ("
                    + layer
                    + ", "
                    + s.layerDigest()
                    + ") stand on the same link in "
                    + s.repository(),
                d));
      }
    }
    if (rules.watched(s.repository())) {
      try {
        rules.policy().checkAllowed(link, leaf.logTimestampMs());
      } catch (PolicyException e) {
        out.accept(
            new Finding(
                e instanceof PolicyException.OutsideValidity
                    ? Finding.KEY_OUTSIDE_WINDOW
                    : Finding.UNEXPECTED_SIGNER,
                false,
                index,
                e.getMessage(),
                d));
      }
    }
    return true;
  }

  /**
   * A failure to read tiles (wrapped by the node source), as opposed to tiles that do not match.
   */
  private static boolean unreadable(Exception e) {
    return e instanceof UncheckedIOException u
        && u.getCause() instanceof TileClient.MirrorException;
  }

  private static Finding fault(SignedCheckpoint cp, Checkpoint old, String message) {
    return new Finding(
        Finding.INCONSISTENT_CHECKPOINT,
        true,
        -1,
        message,
        Map.of(
            "tree_size",
            "" + cp.size(),
            "previous_size",
            "" + old.size(),
            "checkpoint",
            cp.note()));
  }
}
