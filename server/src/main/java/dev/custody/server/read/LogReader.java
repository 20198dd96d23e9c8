package dev.custody.server.read;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofBuilder;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import dev.custody.tiles.EntryBundle;
import dev.custody.tiles.NodeCache;
import dev.custody.tiles.TileNodes;
import dev.custody.tiles.Tiles;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The read path: proofs, leaves and old checkpoints straight from storage. It takes sizes from the
 * caller (who read the published head) and never waits for the sequencer.
 */
public final class LogReader {
  /**
   * 2^18 nodes, about 25 MiB: the top of a 10^9-leaf tree and the recent tiles, with room to spare.
   */
  private static final int CACHE_LOG2_SLOTS = 18;

  /**
   * 2^18 slots for slices, at most a quarter filled (strata of up to 65,536 slices, about 37 MiB):
   * every stratum above the lowest at 10^7 entries, so that a random proof there reads one slice
   * from RocksDB (a JNI call and a block-cache lookup, microseconds) instead of three.
   */
  private static final int SLICE_CACHE_LOG2_SLOTS = 18;

  private final LogStorage storage;
  private final NodeCache cache = new NodeCache(CACHE_LOG2_SLOTS);
  private final NodeCache slices = new NodeCache(SLICE_CACHE_LOG2_SLOTS);
  private final LongAdder tileReads = new LongAdder();

  public LogReader(LogStorage storage) {
    this.storage = storage;
  }

  /**
   * Tiles and slices read from storage by this reader so far (proofs and tile requests), for
   * metrics.
   */
  public long tileReads() {
    return tileReads.sum();
  }

  public List<byte[]> inclusion(long index, long size) {
    return mayWait.inclusion(index, size);
  }

  /** The inclusion proofs of {@code indices} in one pass; requires 0 <= index < size for each. */
  public List<List<byte[]>> inclusions(long[] indices, long size) {
    return mayWait.inclusions(indices, size);
  }

  public List<byte[]> consistency(long size1, long size2) {
    return mayWait.consistency(size1, size2);
  }

  public byte[] root(long size) {
    return mayWait.root(size);
  }

  /**
   * The proofs and roots of this reader from memory only (its caches, the memtables and RocksDB's
   * block cache), for a network event loop, which must not wait for the disk: each method throws
   * {@link LogStorage.NotInMemoryException} where it would need a read from disk.
   */
  public Proofs fromMemory() {
    return memoryOnly;
  }

  /**
   * The proofs and roots of this reader, reading the disk where they must: {@link #inclusion} and
   * the rest.
   */
  public Proofs mayWait() {
    return mayWait;
  }

  /** Proofs and roots by one way of reading the store; requires as the methods of the reader. */
  public final class Proofs {
    private final boolean inMemory;

    private Proofs(boolean inMemory) {
      this.inMemory = inMemory;
    }

    public List<byte[]> inclusion(long index, long size) {
      return builder(size, inMemory).inclusion(index, size);
    }

    /** The inclusion proofs of {@code indices} in one pass ({@link ProofBuilder#inclusions}). */
    public List<List<byte[]>> inclusions(long[] indices, long size) {
      return builder(size, inMemory).inclusions(indices, size);
    }

    public List<byte[]> consistency(long size1, long size2) {
      return builder(size2, inMemory).consistency(size1, size2);
    }

    public byte[] root(long size) {
      return builder(size, inMemory).root(size);
    }
  }

  private final Proofs memoryOnly = new Proofs(true);
  private final Proofs mayWait = new Proofs(false);

  /** The first {@code width} hashes of a stored tile: exactly the tlog-tiles tile of that width. */
  public byte[] tile(int level, long index, int width) {
    tileReads.increment();
    byte[] t =
        storage
            .tile(level, index)
            .orElseThrow(() -> new StorageException("tile " + level + "/" + index + " is missing"));
    return atLeast(t, width, "tile " + level + "/" + index).length == width * Hashes.SIZE
        ? t
        : Arrays.copyOf(t, width * Hashes.SIZE);
  }

  /**
   * Fills the slice cache with every stratum worth caching in a tree of {@code size}, top down,
   * each by one sequential scan: after a start, a random proof then reads one slice from the store
   * (the lowest stratum's) instead of one per stratum, each a random read of a cold disk. Safe
   * beside proofs (the cache is lock-free); bounded by the cache (about 37 MiB).
   *
   * @return the slices cached
   */
  public long prefetch(long size) {
    long cached = 0;
    for (int s = (63 - Long.numberOfLeadingZeros(Math.max(1, size))) / LogStorage.STRATUM_LEVELS;
        s >= 0;
        s--) {
      int stratum = s;
      if (!slices.worthCaching(sliceLevel(stratum), size)) break; // lower strata only grow
      long nodes = size >>> (LogStorage.STRATUM_LEVELS * stratum);
      long count = (nodes + LogStorage.SLICE_NODES - 1) / LogStorage.SLICE_NODES;
      long[] put = {0};
      storage.scanSlices(
          stratum,
          0,
          count,
          (n, hashes) -> {
            int width = (int) Math.min(LogStorage.SLICE_NODES, nodes - n * LogStorage.SLICE_NODES);
            atLeast(hashes, width, "slice " + stratum + "/" + n);
            slices.put(
                stratum,
                n,
                hashes.length == width * Hashes.SIZE
                    ? hashes
                    : Arrays.copyOf(hashes, width * Hashes.SIZE));
            put[0]++;
            return true;
          });
      cached += put[0];
    }
    return cached;
  }

  /** The tree level whose nodes each cover one slice of {@code stratum}. */
  private static int sliceLevel(int stratum) {
    return LogStorage.STRATUM_LEVELS * stratum
        + Integer.numberOfTrailingZeros(LogStorage.SLICE_NODES);
  }

  /**
   * At least the first {@code width} nodes of slice {@code n} of a stratum (what a proof reads),
   * from the slice cache where the stratum is small enough to be worth it. Only the nodes of the
   * tree being proved are cached: beyond them a stored slice may still hold a failed batch's nodes.
   */
  private byte[] slice(int stratum, long n, int width, long treeSize, boolean inMemory) {
    boolean cached = slices.worthCaching(sliceLevel(stratum), treeSize);
    byte[] hit = cached ? slices.get(stratum, n) : null;
    if (hit != null && hit.length >= width * Hashes.SIZE) return hit;
    Optional<byte[]> read =
        inMemory ? storage.sliceInMemory(stratum, n) : storage.slice(stratum, n);
    tileReads.increment();
    byte[] stored =
        atLeast(
            read.orElseThrow(
                () -> new StorageException("slice " + stratum + "/" + n + " is missing")),
            width,
            "slice " + stratum + "/" + n);
    if (cached)
      slices.put(
          stratum,
          n,
          stored.length == width * Hashes.SIZE
              ? stored
              : Arrays.copyOf(stored, width * Hashes.SIZE));
    return stored;
  }

  private static byte[] atLeast(byte[] hashes, int width, String what) {
    if (hashes.length < width * Hashes.SIZE)
      throw new StorageException(what + " holds fewer than " + width + " hashes");
    return hashes;
  }

  /** The tlog-tiles entry bundle of entries [index * 256, index * 256 + width). */
  public byte[] entryBundle(long index, int width) {
    List<byte[]> leaves = new ArrayList<>(width);
    long start = index * Tiles.WIDTH;
    storage.scanLeaves(start, start + width, (i, leaf) -> leaves.add(leaf));
    return EntryBundle.encode(leaves);
  }

  private ProofBuilder builder(long size, boolean inMemory) {
    return new ProofBuilder(
        TileNodes.fromSlices((k, n, width) -> slice(k, n, width, size, inMemory), size, cache));
  }

  public Optional<byte[]> leaf(long index) {
    return storage.leaf(index);
  }

  public OptionalLong indexOfLeafHash(byte[] leafHash) {
    return storage.indexOfLeafHash(leafHash);
  }

  /** The checkpoint the log signed at exactly this size, if it signed one. */
  public Optional<SignedCheckpoint> checkpointAt(long size) {
    return storage
        .checkpointAt(size)
        .map(
            note -> {
              try {
                return new SignedCheckpoint(Checkpoint.ofNote(note), note);
              } catch (CheckpointException e) {
                throw new StorageException(
                    "stored checkpoint at size " + size + " is unreadable: " + e.getMessage());
              }
            });
  }
}
