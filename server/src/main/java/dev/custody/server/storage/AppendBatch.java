package dev.custody.server.storage;

import java.util.ArrayList;
import java.util.List;

/**
 * Everything one sequencer batch changes, committed as one synced RocksDB WriteBatch: either all of
 * it and its checkpoint exist after a crash, or none of it does.
 */
public final class AppendBatch {
  record Leaf(long index, byte[] leaf, byte[] leafHash, byte[] entryId, List<byte[]> lookupKeys) {}

  final List<Leaf> leaves = new ArrayList<>();
  final List<NodeSlice> slices = new ArrayList<>();
  final List<AppendBatch> undone = new ArrayList<>();
  long checkpointSize = -1;
  byte[] applied; // the replicated log's position (RaftPosition.encode), or null on a single node
  String checkpointNote;
  byte[] compactRange;

  /**
   * @param entryId a dedup key distinct from the leaf hash, or null when the leaf hash is the key
   */
  public void addLeaf(
      long index, byte[] leaf, byte[] leafHash, byte[] entryId, List<byte[]> lookupKeys) {
    leaves.add(new Leaf(index, leaf, leafHash, entryId, lookupKeys));
  }

  public void putSlice(NodeSlice slice) {
    slices.add(slice);
  }

  public void setCheckpoint(long size, String signedNote, byte[] compactRange) {
    this.checkpointSize = size;
    this.checkpointNote = signedNote;
    this.compactRange = compactRange;
  }

  /**
   * Records, in the same write, the replicated log's position that this batch brings the store to:
   * after a crash the store and the position it has applied cannot disagree.
   */
  public void setApplied(byte[] position) {
    this.applied = position.clone();
  }

  /**
   * Deletes, before this batch's own writes, every index key and the checkpoint of a batch whose
   * commit failed and that the store does not show: should its record still sit in the WAL, a
   * replay after a crash then cannot revive it. Slices and the compact range need no undoing: every
   * later batch rewrites the edge it reads from, and readers take the width the size implies.
   */
  public void undo(AppendBatch failed) {
    undone.add(failed);
  }

  public long checkpointSize() {
    return checkpointSize;
  }

  public int leafCount() {
    return leaves.size();
  }
}
