package dev.custody.server.read;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.ProofBuilder;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import dev.custody.tiles.EntryBundle;
import dev.custody.tiles.NodeCache;
import dev.custody.tiles.TileNodes;
import dev.custody.merkle.Hashes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The read path: proofs, leaves and old checkpoints straight from storage. It takes sizes from
 * the caller (who read the published head) and never waits for the sequencer.
 */
public final class LogReader {
  /** 2^18 nodes, about 25 MiB: the top of a 10^9-leaf tree and the recent tiles, with room to spare. */
  private static final int CACHE_LOG2_SLOTS = 18;

  private final LogStorage storage;
  private final NodeCache cache = new NodeCache(CACHE_LOG2_SLOTS);
  private final LongAdder tileReads;

  public LogReader(LogStorage storage) {
    this(storage, new LongAdder());
  }

  /** @param tileReads counts every tile read from storage (proofs, tile requests), for metrics */
  public LogReader(LogStorage storage, LongAdder tileReads) {
    this.storage = storage;
    this.tileReads = tileReads;
  }

  /** Tiles read from storage by this reader so far. */
  public long tileReads() {
    return tileReads.sum();
  }

  public List<byte[]> inclusion(long index, long size) {
    return builder(size).inclusion(index, size);
  }

  public List<byte[]> consistency(long size1, long size2) {
    return builder(size2).consistency(size1, size2);
  }

  public byte[] root(long size) {
    return builder(size).root(size);
  }

  /** The first {@code width} hashes of a stored tile: exactly the tlog-tiles tile of that width. */
  public byte[] tile(int level, long index, int width) {
    return stratum(2 * level, index, width);
  }

  /** The first {@code width} nodes of mid tile (level, index): tree level 8 × level + 4; never served. */
  byte[] midTile(int level, long index, int width) {
    return stratum(2 * level + 1, index, width);
  }

  private byte[] stratum(int stratum, long index, int width) {
    tileReads.increment();
    String what = (stratum % 2 == 0 ? "tile " : "mid tile ") + stratum / 2 + "/" + index;
    byte[] t = storage.stratumTile(stratum, index).orElseThrow(() -> new StorageException(what + " is missing"));
    if (t.length < width * Hashes.SIZE) throw new StorageException(what + " holds fewer than " + width + " hashes");
    return t.length == width * Hashes.SIZE ? t : Arrays.copyOf(t, width * Hashes.SIZE);
  }

  /** The tlog-tiles entry bundle of entries [index * 256, index * 256 + width). */
  public byte[] entryBundle(long index, int width) {
    List<byte[]> leaves = new ArrayList<>(width);
    long start = index * dev.custody.tiles.Tiles.WIDTH;
    storage.scanLeaves(start, start + width, (i, leaf) -> leaves.add(leaf));
    return EntryBundle.encode(leaves);
  }

  private ProofBuilder builder(long size) {
    return new ProofBuilder(new TileNodes(this::tile, this::midTile, size, cache));
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
