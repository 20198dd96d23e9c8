package dev.custody.server.sequencer;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.note.NoteSigner;
import dev.custody.note.SignedNote;
import dev.custody.server.admission.Admitted;
import dev.custody.server.storage.AppendBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * The integrate stage: what appending a batch of new entries writes — each leaf at the next index
 * with the log's timestamp, the tree edge's tiles, and the checkpoint for the new size, signed —
 * as a function of the tree edge, the entries, the timestamp and the key alone. It reads no
 * storage and no clock. Ed25519 signatures are deterministic (RFC 8032), so two stores that
 * integrate the same batches from the same state hold the same bytes, the checkpoints included:
 * the property a replicated log rests on ({@code IntegratorDeterminismTest}).
 *
 * <p>Requires every entry to be new: not in the store and not twice in the batch (the
 * sequencer's dedup ensures it). Not thread-safe; the sequencer's thread owns it.
 */
public final class Integrator {
  /** Where an entry landed. */
  public record Placed(long index, byte[] leaf, byte[] leafHash) {}

  /** The writes of one batch and the state after it; nothing is durable until {@code batch} commits. */
  public record Result(AppendBatch batch, TreeEdge edge, SignedCheckpoint head, List<Placed> placed) {}

  private final String origin;
  private final NoteSigner signer;

  public Integrator(String origin, NoteSigner signer) {
    this.origin = origin;
    this.signer = signer;
  }

  /** Appends {@code entries}, in order, after {@code edge}, at log time {@code timestampMs}. */
  public Result integrate(TreeEdge edge, List<Admitted> entries, long timestampMs) {
    AppendBatch out = new AppendBatch();
    List<byte[]> newHashes = new ArrayList<>(entries.size());
    List<Placed> placed = new ArrayList<>(entries.size());
    long next = edge.size();
    for (Admitted a : entries) {
      byte[] leaf = a.leaf(timestampMs);
      // An entry keyed by its leaf hash was hashed at admission; hash only leaves made here.
      byte[] hash = a.keyedByLeafHash() ? a.dedupKey() : Hashes.leafHash(leaf);
      Placed mine = new Placed(next++, leaf, hash);
      out.addLeaf(mine.index(), leaf, hash, a.keyedByLeafHash() ? null : a.dedupKey(), a.lookupKeys());
      newHashes.add(hash);
      placed.add(mine);
    }
    TreeEdge nextEdge = edge.append(newHashes, out);
    SignedCheckpoint nextHead = sign(nextEdge.size(), nextEdge.root());
    out.setCheckpoint(nextEdge.size(), nextHead.note(), nextEdge.range().encode());
    return new Result(out, nextEdge, nextHead, placed);
  }

  /** The signed checkpoint for a tree of {@code size} with this root. */
  public SignedCheckpoint sign(long size, byte[] root) {
    Checkpoint cp = new Checkpoint(origin, size, root);
    return new SignedCheckpoint(cp, SignedNote.sign(cp.text(), signer).format());
  }
}
