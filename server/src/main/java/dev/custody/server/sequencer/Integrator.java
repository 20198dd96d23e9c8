package dev.custody.server.sequencer;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.CompactRange;
import dev.custody.merkle.Hashes;
import dev.custody.note.NoteException;
import dev.custody.note.NoteSigner;
import dev.custody.note.SignedNote;
import dev.custody.server.storage.AppendBatch;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * The integrate stage: what appending a batch of new entries writes — each leaf at the next index
 * with the log's timestamp, the tree edge's tiles, and the checkpoint for the new size, signed — as
 * a function of the tree edge, the entries, the timestamp and the key alone. It reads no storage
 * and no clock. Ed25519 signatures are deterministic (RFC 8032), so two stores that integrate the
 * same batches from the same state hold the same bytes, the checkpoints included: the property a
 * replicated log rests on ({@code IntegratorDeterminismTest}). (Only {@link #resume} reads a store:
 * once, at start.)
 *
 * <p>Requires every entry to be new: not in the store and not twice in the batch (the sequencer's
 * dedup ensures it). Not thread-safe; the sequencer's thread owns it.
 */
public final class Integrator {
  /** Where an entry landed. */
  public record Placed(long index, byte[] leaf, byte[] leafHash) {}

  /**
   * The writes of one batch and the state after it; nothing is durable until {@code batch} commits.
   */
  public record Result(
      AppendBatch batch, TreeEdge edge, SignedCheckpoint head, List<Placed> placed) {}

  /** The state a store holds: its tree edge and its latest signed checkpoint. */
  public record Resumed(TreeEdge edge, SignedCheckpoint head) {}

  private final String origin;
  private final List<NoteSigner> signers;

  /**
   * @param signers the log's keys, each signing every checkpoint (more than one while the key
   *     rotates)
   */
  public Integrator(String origin, List<NoteSigner> signers) {
    if (signers.isEmpty()) throw new IllegalArgumentException("a checkpoint needs a signer");
    this.origin = origin;
    this.signers = List.copyOf(signers);
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
      out.addLeaf(
          mine.index(), leaf, hash, a.keyedByLeafHash() ? null : a.dedupKey(), a.lookupKeys());
      newHashes.add(hash);
      placed.add(mine);
    }
    TreeEdge.Appended appended = edge.append(newHashes);
    appended.changed().forEach(out::putSlice);
    TreeEdge nextEdge = appended.edge();
    SignedCheckpoint nextHead = sign(nextEdge.size(), nextEdge.root());
    out.setCheckpoint(nextEdge.size(), nextHead.note(), nextEdge.range().encode());
    return new Result(out, nextEdge, nextHead, placed);
  }

  /** The signed checkpoint for a tree of {@code size} with this root. */
  public SignedCheckpoint sign(long size, byte[] root) {
    Checkpoint cp = new Checkpoint(origin, size, root);
    return new SignedCheckpoint(
        cp, SignedNote.sign(cp.text(), signers.toArray(NoteSigner[]::new)).format());
  }

  /**
   * The state to continue from: the store's latest checkpoint and compact range (O(log n) reads),
   * or, for a new log, the empty tree's checkpoint, signed and committed first. Every node of a
   * cluster signs the same bytes for it (Ed25519 is deterministic), so this is not a fork.
   */
  public Resumed resume(LogStorage storage) {
    var note = storage.latestCheckpoint();
    if (note.isEmpty()) {
      TreeEdge e = TreeEdge.empty();
      AppendBatch b = new AppendBatch();
      SignedCheckpoint cp = sign(0, e.root());
      b.setCheckpoint(0, cp.note(), e.range().encode());
      storage.commit(b);
      return new Resumed(e, cp);
    }
    Checkpoint cp = parseStored(note.get()).checkpoint();
    CompactRange range =
        CompactRange.decode(
            storage
                .compactRange()
                .orElseThrow(
                    () -> new StorageException("the store has a checkpoint but no compact range")));
    if (range.size() != cp.size() || !MessageDigest.isEqual(range.root(), cp.rootHash())) {
      throw new StorageException(
          "the stored compact range does not match the latest checkpoint (size "
              + range.size()
              + " vs "
              + cp.size()
              + ")");
    }
    SignedCheckpoint head = new SignedCheckpoint(cp, note.get());
    // A log whose keys changed since that checkpoint (rotation) restates it signed by the keys it
    // signs with now: the same size and root, so no fork, and verifiers that know only the next
    // key can open the latest checkpoint at once, not after the next entry. Ed25519 is
    // deterministic: with unchanged keys the note is the same bytes and nothing is written.
    SignedCheckpoint now = sign(cp.size(), cp.rootHash());
    if (!now.note().equals(head.note())) {
      // Restating signs (size, root) again: only a checkpoint this log already signed, so that a
      // store filled from elsewhere (a copied or forged snapshot) cannot get a root signed here.
      if (!signedByThisLog(note.get())) {
        throw new StorageException(
            "the stored latest checkpoint carries no signature by this log's keys; refusing to "
                + "sign its root again (was the store copied from another log?)");
      }
      AppendBatch b = new AppendBatch();
      b.setCheckpoint(cp.size(), now.note(), range.encode());
      storage.commit(b);
      head = now;
    }
    return new Resumed(TreeEdge.load(range, storage), head);
  }

  /**
   * True when {@code note} is a checkpoint of this log's origin that carries, among its signatures,
   * one that a key this log signs with made over its text. Ed25519 signatures are deterministic
   * (RFC 8032), so signing the text again gives the very bytes: no verifier key is needed, and a
   * signature this log did not make (forged, or by another key of the same name) never matches.
   */
  public boolean signedByThisLog(String note) {
    SignedNote n;
    Checkpoint cp;
    try {
      n = SignedNote.parse(note);
      cp = Checkpoint.parse(n.text());
    } catch (NoteException | CheckpointException e) {
      return false;
    }
    if (!cp.origin().equals(origin)) return false;
    SignedNote mine = SignedNote.sign(n.text(), signers.toArray(NoteSigner[]::new));
    for (SignedNote.Signature theirs : n.signatures()) {
      for (SignedNote.Signature ours : mine.signatures()) {
        if (theirs.keyName().equals(ours.keyName())
            && theirs.keyId() == ours.keyId()
            && MessageDigest.isEqual(theirs.signature(), ours.signature())) return true;
      }
    }
    return false;
  }

  /** A checkpoint as the log stored it; unreadable means a damaged store. */
  public static SignedCheckpoint parseStored(String note) {
    try {
      return new SignedCheckpoint(Checkpoint.ofNote(note), note);
    } catch (CheckpointException e) {
      throw new StorageException("the stored latest checkpoint is unreadable: " + e.getMessage());
    }
  }
}
