package dev.custody.server.read;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.ProofBuilder;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.NodeCache;
import dev.custody.server.storage.StorageException;
import dev.custody.server.storage.TileNodes;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The read path: proofs, leaves and old checkpoints straight from storage. It takes sizes from
 * the caller (who read the published head) and never waits for the sequencer.
 */
public final class LogReader {
  /** 2^18 nodes, about 25 MiB: the top of a 10^9-leaf tree and the recent tiles, with room to spare. */
  private static final int CACHE_LOG2_SLOTS = 18;

  private final LogStorage storage;
  private final NodeCache cache = new NodeCache(CACHE_LOG2_SLOTS);

  public LogReader(LogStorage storage) {
    this.storage = storage;
  }

  public List<byte[]> inclusion(long index, long size) {
    return builder().inclusion(index, size);
  }

  public List<byte[]> consistency(long size1, long size2) {
    return builder().consistency(size1, size2);
  }

  public byte[] root(long size) {
    return builder().root(size);
  }

  private ProofBuilder builder() {
    return new ProofBuilder(new TileNodes(storage, cache));
  }

  public Optional<byte[]> leaf(long index) {
    return storage.leaf(index);
  }

  public OptionalLong indexOfLeafHash(byte[] leafHash) {
    return storage.indexOfLeafHash(leafHash);
  }

  /** The checkpoint the log signed at exactly this size, if it signed one. */
  public Optional<SignedCheckpoint> checkpointAt(long size) {
    return storage.checkpointAt(size).map(note -> {
      try {
        return new SignedCheckpoint(Checkpoint.parse(SignedNote.parse(note).text()), note);
      } catch (NoteException | CheckpointException e) {
        throw new StorageException("stored checkpoint at size " + size + " is unreadable: " + e.getMessage());
      }
    });
  }
}
