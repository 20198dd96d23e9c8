package dev.custody.server.storage;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.ReadTier;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Status;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The log on disk, in RocksDB. Column families by purpose:
 *
 * <ul>
 *   <li>{@code leaves}: index → Leaf bytes;
 *   <li>{@code nodes}: (stratum, slice) → up to 16 hashes: the Merkle nodes at every fourth tree
 *       level, in {@linkplain #slice slices} of 16, so that a proof reads 512 bytes per stratum;
 *   <li>{@code tiles}: empty (development formats kept whole tiles here); opened because every
 *       store of format 5 has it;
 *   <li>{@code leaf_hashes}: leaf hash → index (lookups by hash, and dedup where the leaf is the
 *       entry);
 *   <li>{@code entry_ids}: entry id → index, for entries whose id is not their leaf hash;
 *   <li>{@code checkpoints}: tree size → the signed checkpoint the log issued at that size;
 *   <li>{@code meta}: identity (origin, verifier key) and the compact range of the latest
 *       checkpoint;
 *   <li>{@code lookups}: a lookup key (opaque here; what a layer link is filed under is {@code
 *       read.LinkIndex}) followed by the index → nothing.
 * </ul>
 *
 * All keys are big-endian. Reads are plain gets and never wait for the writer.
 *
 * <p>One concept in one file, though long: every column family above shares one RocksDB handle, one
 * synced write path and one set of options, and a commit must write all of them in one batch; what
 * lies above storage (the tree, the lookups' meaning, proofs) lives in {@code read} and {@code
 * sequencer}.
 */
public final class LogStorage implements AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  private static final byte[] META_ORIGIN = bytes("origin");
  private static final byte[] META_VKEY = bytes("verifier_key");
  private static final byte[] META_KEYS = bytes("key_history");
  private static final byte[] META_RANGE = bytes("compact_range");
  private static final byte[] META_FORMAT = bytes("format");
  private static final byte[] META_APPLIED = bytes("applied");

  /**
   * The store's format, recorded at creation. Custody has released no store, so there is no upgrade
   * path: a store of another format (1 to 4 were development versions) is refused with a message
   * that says so, and the first released format will be the first one upgraded from.
   */
  static final String FORMAT = "5";

  private static final List<String> FAMILIES =
      List.of(
          "leaves", "tiles", "leaf_hashes", "entry_ids", "checkpoints", "meta", "lookups", "nodes");

  /**
   * Tree levels per stratum: half a tile's height, so that every other stratum is a tlog-tiles tile
   * level.
   */
  public static final int STRATUM_LEVELS = 4;

  /**
   * Nodes per slice: a sixteenth of a tile, enough for the four levels of a stratum above one node.
   */
  public static final int SLICE_NODES = 16;

  private static final int SLICES_PER_TILE = 256 / SLICE_NODES;
  private static final int SLICE_BYTES = SLICE_NODES * 32;

  private static final long WRITE_BUFFER_BYTES = 16L << 20;
  private static final long MAX_WAL_BYTES = 64L << 20;
  private static final byte[] NO_VALUE = new byte[0];

  private final RocksDB db;
  private final List<ColumnFamilyHandle> handles;
  private final List<AutoCloseable> resources;
  private final ColumnFamilyHandle leaves;
  private final ColumnFamilyHandle nodes;
  private final ColumnFamilyHandle leafHashes;
  private final ColumnFamilyHandle entryIds;
  private final ColumnFamilyHandle checkpoints;
  private final ColumnFamilyHandle meta;
  private final ColumnFamilyHandle lookups;
  private final WriteOptions synced;
  private final WriteOptions unsynced = new WriteOptions();
  private final ReadOptions memoryOnly = new ReadOptions().setReadTier(ReadTier.BLOCK_CACHE_TIER);
  private final boolean readOnly;

  private LogStorage(
      RocksDB db,
      List<ColumnFamilyHandle> h,
      List<AutoCloseable> resources,
      WriteOptions synced,
      boolean readOnly) {
    this.readOnly = readOnly;
    this.db = db;
    this.handles = h;
    this.resources = resources;
    this.leaves = h.get(1);
    this.leafHashes = h.get(3);
    this.entryIds = h.get(4);
    this.checkpoints = h.get(5);
    this.meta = h.get(6);
    this.lookups = h.get(7);
    this.nodes = h.get(8);
    this.synced = synced;
  }

  /**
   * RocksDB's block cache (off the Java heap): a sixteenth of the memory this process may use (the
   * container's limit where there is one), between 64 MiB and 1 GiB. At 10^7 entries the lowest
   * stratum of the tree is 320 MB: on a machine of 8 GB or more every proof is then answered from
   * memory; on a small one the disk-reads threads take the reads that miss.
   */
  static long blockCacheBytes() {
    long total =
        ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    return Math.max(64L << 20, Math.min(1L << 30, total / 16));
  }

  public static LogStorage open(Path dir) {
    return open(dir, false);
  }

  /**
   * Opens an existing store for reading only (a read-only file system, a frozen copy): every write
   * fails, nothing on disk changes.
   */
  public static LogStorage openReadOnly(Path dir) {
    return open(dir, true);
  }

  private static LogStorage open(Path dir, boolean readOnly) {
    List<AutoCloseable> res = new ArrayList<>();
    try {
      if (!readOnly) Files.createDirectories(dir);
      LRUCache cache = new LRUCache(blockCacheBytes());
      BloomFilter bloom = new BloomFilter(10);
      res.add(cache);
      res.add(bloom);
      BlockBasedTableConfig table =
          new BlockBasedTableConfig()
              .setBlockCache(cache)
              .setFilterPolicy(bloom)
              .setCacheIndexAndFilterBlocks(false);
      // Small memtables bound what a restart after a crash must replay from the WAL, whatever
      // the log's size; the data are small and append-only, so little is lost to extra flushes.
      ColumnFamilyOptions cf =
          new ColumnFamilyOptions()
              .setTableFormatConfig(table)
              .setWriteBufferSize(WRITE_BUFFER_BYTES);
      res.add(cf);
      // Hashes do not compress: trying only costs CPU at every flush and compaction.
      ColumnFamilyOptions hashes =
          new ColumnFamilyOptions()
              .setTableFormatConfig(table)
              .setWriteBufferSize(WRITE_BUFFER_BYTES)
              .setCompressionType(CompressionType.NO_COMPRESSION);
      res.add(hashes);
      List<ColumnFamilyDescriptor> descs = new ArrayList<>();
      descs.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cf));
      for (String f : FAMILIES)
        descs.add(new ColumnFamilyDescriptor(bytes(f), f.equals("nodes") ? hashes : cf));
      DBOptions opts =
          new DBOptions()
              .setCreateIfMissing(true)
              .setCreateMissingColumnFamilies(true)
              .setParanoidChecks(true)
              .setMaxTotalWalSize(MAX_WAL_BYTES);
      res.add(opts);
      List<ColumnFamilyHandle> handles = new ArrayList<>();
      RocksDB db =
          readOnly
              ? RocksDB.openReadOnly(opts, dir.toString(), descs, handles)
              : RocksDB.open(opts, dir.toString(), descs, handles);
      WriteOptions synced = new WriteOptions().setSync(true);
      res.add(synced);
      LogStorage storage = new LogStorage(db, handles, res, synced, readOnly);
      storage.checkFormat(dir);
      return storage;
    } catch (RocksDBException | IOException e) {
      closeAll(res);
      String hint =
          String.valueOf(e.getMessage()).contains("LOCK")
              ? " (another custody server is using this data directory)"
              : "";
      throw new StorageException(
          "cannot open the log's store in " + dir + hint + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads every block of every table file and checks its checksum: time proportional to the store's
   * size, so only on request (opening the store already checks every file's size and footer, and
   * every read checks the blocks it reads).
   */
  public void verifyChecksums() {
    try {
      db.verifyChecksum();
    } catch (RocksDBException e) {
      throw new StorageException("the log's store is corrupted: " + e.getMessage(), e);
    }
  }

  private void checkFormat(Path dir) {
    String format =
        Optional.ofNullable(get(meta, META_FORMAT)).map(LogStorage::string).orElse(null);
    if (format == null && latestCheckpoint().isEmpty() && !readOnly) {
      try {
        db.put(meta, synced, META_FORMAT, bytes(FORMAT));
        return;
      } catch (RocksDBException e) {
        close();
        throw new StorageException(
            "cannot initialise the store in " + dir + ": " + e.getMessage(), e);
      }
    }
    if (FORMAT.equals(format)) return;
    close();
    throw new StorageException(
        "the store in "
            + dir
            + " is in format "
            + (format == null ? "1" : format)
            + ", written by a development version of Custody; this server reads format "
            + FORMAT
            + " only (no store before it was released, so none is upgraded): serve it with the "
            + "version that wrote it, or start this log in a new --data-dir");
  }

  /** What a pass over a column family writes for one of its keys. */
  @FunctionalInterface
  private interface Rewrite {
    void write(WriteBatch wb, byte[] key, byte[] value) throws RocksDBException;
  }

  /**
   * Reads every key of {@code family} in {@code source} once, in order, and commits what {@code
   * rewrite} writes for them into this store in synced batches of about 4 MiB: a pass cut short by
   * a crash keeps every batch before the cut. Returns the keys read.
   */
  private long rewriteAll(RocksDB source, ColumnFamilyHandle family, Rewrite rewrite)
      throws RocksDBException {
    final long batchBytes = 4L << 20;
    long keys = 0;
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = source.newIterator(family, ro)) {
      WriteBatch wb = new WriteBatch();
      try {
        long bytes = 0;
        for (it.seekToFirst(); it.isValid(); it.next()) {
          byte[] k = it.key();
          byte[] v = it.value();
          rewrite.write(wb, k, v);
          keys++;
          bytes += k.length + v.length;
          if (bytes >= batchBytes) {
            db.write(synced, wb);
            wb.close();
            wb = new WriteBatch();
            bytes = 0;
          }
        }
        it.status();
        db.write(synced, wb);
      } finally {
        wb.close();
      }
    }
    return keys;
  }

  /** Whether the store was opened read-only (its disk is): every write fails. */
  public boolean readOnly() {
    return readOnly;
  }

  /**
   * The greatest lookup key that starts with {@code prefix} and is {@code keyLength} bytes long
   * (its index left off), or empty: one seek, however many keys lie under the prefix. What the
   * key's bytes mean is the caller's ({@code read.LinkIndex}); that every stored key is the lookup
   * key followed by the index is this class's.
   */
  public Optional<byte[]> greatestLookupKey(byte[] prefix, int keyLength) {
    byte[] after = Arrays.copyOf(prefix, keyLength + Long.BYTES);
    Arrays.fill(after, prefix.length, after.length, (byte) 0xff);
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(lookups, ro)) {
      it.seekForPrev(after);
      if (!it.isValid()) {
        it.status();
        return Optional.empty();
      }
      byte[] k = it.key();
      if (k.length != keyLength + Long.BYTES
          || !Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length)) {
        return Optional.empty();
      }
      return Optional.of(Arrays.copyOf(k, keyLength));
    } catch (RocksDBException e) {
      throw new StorageException("reading a lookup failed: " + e.getMessage(), e);
    }
  }

  /** Commits one batch with the write-ahead log synced to disk. */
  public void commit(AppendBatch b) {
    write(b, synced);
  }

  /**
   * Writes one batch as one atomic write, without waiting for the disk: for a replica, whose
   * durable record is its Raft log. After a power loss the store holds a prefix of its writes
   * (RocksDB recovers the WAL to a point in time), the applied position within it, and the node
   * applies the rest again from its Raft log, byte for byte the same. A snapshot flushes the store
   * before Ratis drops the log it covers.
   */
  public void apply(AppendBatch b) {
    write(b, unsynced);
  }

  private void write(AppendBatch b, WriteOptions options) {
    try (WriteBatch wb = new WriteBatch()) {
      for (AppendBatch u : b.undone) {
        for (AppendBatch.Leaf l : u.leaves) {
          byte[] k = StoreKeys.index(l.index());
          wb.delete(leaves, k);
          wb.delete(leafHashes, l.leafHash());
          if (l.entryId() != null) wb.delete(entryIds, l.entryId());
          for (byte[] lk : l.lookupKeys()) wb.delete(lookups, withIndex(lk, l.index()));
        }
        if (u.checkpointNote != null) wb.delete(checkpoints, StoreKeys.index(u.checkpointSize));
      }
      // Hash-keyed families in key order: RocksDB inserts a batch into each memtable in the
      // batch's order and resumes its skip-list search from the previous key, so sorted keys
      // cost a short walk each, where random ones each search the list from its top (a tenth of
      // a node's CPU under batches of links, in a profile). Equal keys keep their order.
      List<byte[][]> byHash = new ArrayList<>(b.leaves.size());
      List<byte[][]> byId = new ArrayList<>(b.leaves.size());
      List<byte[]> lookupKeys = new ArrayList<>(b.leaves.size() * 8);
      for (AppendBatch.Leaf l : b.leaves) {
        byte[] k = StoreKeys.index(l.index());
        wb.put(leaves, k, l.leaf());
        byHash.add(new byte[][] {l.leafHash(), k});
        if (l.entryId() != null) byId.add(new byte[][] {l.entryId(), k});
        for (byte[] lk : l.lookupKeys()) lookupKeys.add(withIndex(lk, l.index()));
      }
      putInKeyOrder(wb, leafHashes, byHash);
      putInKeyOrder(wb, entryIds, byId);
      lookupKeys.sort(Arrays::compareUnsigned);
      for (byte[] lk : lookupKeys) wb.put(lookups, lk, NO_VALUE);
      for (NodeSlice t : b.slices)
        wb.put(nodes, StoreKeys.slice(t.stratum(), t.index()), t.hashes());
      if (b.checkpointNote != null) {
        wb.put(checkpoints, StoreKeys.index(b.checkpointSize), bytes(b.checkpointNote));
        wb.put(meta, META_RANGE, b.compactRange);
      }
      if (b.applied != null) wb.put(meta, META_APPLIED, b.applied);
      db.write(options, wb);
    } catch (RocksDBException e) {
      throw new StorageException("writing to the log's store failed: " + e.getMessage(), e);
    }
  }

  /**
   * Puts key/value pairs into {@code family} in ascending key order (stable: equal keys keep
   * theirs).
   */
  private static void putInKeyOrder(WriteBatch wb, ColumnFamilyHandle family, List<byte[][]> kvs)
      throws RocksDBException {
    kvs.sort((x, y) -> Arrays.compareUnsigned(x[0], y[0]));
    for (byte[][] kv : kvs) wb.put(family, kv[0], kv[1]);
  }

  /**
   * Records the log's identity before it signs a checkpoint under it: its origin, the key that
   * signs first, and the history of its keys (opaque text here; {@code LogKeys} reads it), all
   * synced in one write.
   */
  public void writeIdentity(String origin, String verifierKey, String keyHistory) {
    try (WriteBatch wb = new WriteBatch()) {
      wb.put(meta, META_ORIGIN, bytes(origin));
      wb.put(meta, META_VKEY, bytes(verifierKey));
      wb.put(meta, META_KEYS, bytes(keyHistory));
      db.write(synced, wb);
    } catch (RocksDBException e) {
      throw new StorageException("writing the log's identity failed: " + e.getMessage(), e);
    }
  }

  public Optional<String> origin() {
    return Optional.ofNullable(get(meta, META_ORIGIN)).map(LogStorage::string);
  }

  /** The key that signs the log's checkpoints first (the only one unless it is rotating). */
  public Optional<String> verifierKey() {
    return Optional.ofNullable(get(meta, META_VKEY)).map(LogStorage::string);
  }

  /**
   * The history of the log's keys as last written; empty for a log from before rotation existed.
   */
  public Optional<String> keyHistory() {
    return Optional.ofNullable(get(meta, META_KEYS)).map(LogStorage::string);
  }

  /**
   * The replicated log's position the store has applied ({@link AppendBatch#setApplied}), or empty.
   */
  public Optional<byte[]> applied() {
    return Optional.ofNullable(get(meta, META_APPLIED));
  }

  /**
   * Writes a consistent copy of the store into {@code dir} (which must not exist): a RocksDB
   * checkpoint, hard links to the immutable table files, so it costs little space and time. Writes
   * that race with it are either wholly in the copy or not at all.
   */
  public void checkpointTo(Path dir) {
    try (Checkpoint c = Checkpoint.create(db)) {
      c.createCheckpoint(dir.toString());
    } catch (RocksDBException e) {
      throw new StorageException("copying the store to " + dir + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Copies every key of {@code other} into this store, in synced batches, the {@code meta} family
   * (which names the latest checkpoint and the applied position) last. For a replica catching up
   * from a snapshot of the same log: its own keys are a subset of the snapshot's (the log only
   * grows, and every node holds the same bytes for the same prefix), so the result is exactly the
   * snapshot. A copy cut short by a crash leaves {@code meta} as it was, and is simply done again.
   *
   * @return the number of keys copied
   */
  public long absorb(LogStorage other) {
    long keys = 0;
    // handles: 0 = default, then FAMILIES in order; meta goes last.
    List<Integer> order = new ArrayList<>();
    for (int i = 1; i < handles.size(); i++) if (handles.get(i) != meta) order.add(i);
    order.add(handles.indexOf(meta));
    try {
      for (int i : order) {
        ColumnFamilyHandle mine = handles.get(i);
        keys += rewriteAll(other.db, other.handles.get(i), (wb, k, v) -> wb.put(mine, k, v));
      }
    } catch (RocksDBException e) {
      throw new StorageException("copying a snapshot into the store failed: " + e.getMessage(), e);
    }
    return keys;
  }

  public Optional<byte[]> compactRange() {
    return Optional.ofNullable(get(meta, META_RANGE));
  }

  /** The signed checkpoint with the largest tree size. */
  public Optional<String> latestCheckpoint() {
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(checkpoints, ro)) {
      it.seekToLast();
      if (!it.isValid()) {
        it.status();
        return Optional.empty();
      }
      return Optional.of(string(it.value()));
    } catch (RocksDBException e) {
      throw new StorageException("reading the latest checkpoint failed: " + e.getMessage(), e);
    }
  }

  /**
   * The stored signed checkpoints with a tree size below {@code before}, largest first, at most
   * {@code limit}: the log's checkpoint history, a page at a time.
   */
  public List<String> checkpointsBefore(long before, int limit) {
    List<String> out = new ArrayList<>();
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(checkpoints, ro)) {
      if (before == Long.MAX_VALUE) it.seekToLast();
      else it.seekForPrev(StoreKeys.index(before - 1));
      for (; it.isValid() && out.size() < limit; it.prev()) out.add(string(it.value()));
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("reading the checkpoint history failed: " + e.getMessage(), e);
    }
    return out;
  }

  public Optional<String> checkpointAt(long size) {
    return Optional.ofNullable(get(checkpoints, StoreKeys.index(size))).map(LogStorage::string);
  }

  public Optional<byte[]> leaf(long index) {
    return Optional.ofNullable(get(leaves, StoreKeys.index(index)));
  }

  /**
   * The tile's hashes as stored (at least the newest width written), or empty if no hash of it
   * exists yet.
   */
  public Optional<byte[]> tile(int level, long index) {
    return stratumTile(2 * level, index);
  }

  /**
   * Up to 256 nodes at tree level 4 × {@code stratum}, from its 16 slices: at least the nodes the
   * latest checkpoint covers, perhaps more (a failed batch may have left a slice beyond the edge,
   * so readers take the width the tree size implies). Even strata are the tlog-tiles tiles; odd
   * strata are mid tiles, halfway between two tile levels: not part of tlog-tiles and never served,
   * they cut the hashing of a proof from storage from up to 247 hashes per tile level to at most
   * 22, for 1/16 more Merkle storage (2 bytes per entry).
   */
  public Optional<byte[]> stratumTile(int stratum, long index) {
    byte[] tile = new byte[SLICES_PER_TILE * SLICE_BYTES];
    int length = 0;
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(nodes, ro)) {
      long first = index * SLICES_PER_TILE;
      it.seek(StoreKeys.slice(stratum, first));
      // Slices are adjacent keys; the first short one ends the tile (nothing after it is in the
      // tree).
      for (int i = 0;
          i < SLICES_PER_TILE && it.isValid() && length == i * SLICE_BYTES;
          i++, it.next()) {
        if (!Arrays.equals(it.key(), StoreKeys.slice(stratum, first + i))) break;
        byte[] v = it.value();
        if (v.length > SLICE_BYTES || v.length % 32 != 0) {
          throw new StorageException(
              "slice " + stratum + "/" + (first + i) + " holds " + v.length + " bytes");
        }
        System.arraycopy(v, 0, tile, length, v.length);
        length += v.length;
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException(
          "reading tile " + stratum + "/" + index + " failed: " + e.getMessage(), e);
    }
    return length == 0 ? Optional.empty() : Optional.of(Arrays.copyOf(tile, length));
  }

  /**
   * Slice {@code n} of a stratum: the nodes [16n, 16n + 16) at tree level 4 × {@code stratum}, as
   * many as were written (readers take the width the tree size implies, see {@link #stratumTile}).
   * The unit of storage: the nodes a proof needs from one stratum — one node and the up to 14 it
   * hashes into the three levels above — always lie in one slice.
   */
  public Optional<byte[]> slice(int stratum, long n) {
    return Optional.ofNullable(get(nodes, StoreKeys.slice(stratum, n)));
  }

  /**
   * {@link #slice} from memory only (the memtables and RocksDB's block cache), for a caller that
   * must not wait for the disk, such as a network event loop.
   *
   * @throws NotInMemoryException when the slice would have to be read from a file
   */
  public Optional<byte[]> sliceInMemory(int stratum, long n) {
    try {
      return Optional.ofNullable(db.get(nodes, memoryOnly, StoreKeys.slice(stratum, n)));
    } catch (RocksDBException e) {
      if (e.getStatus() != null && e.getStatus().getCode() == Status.Code.Incomplete) {
        throw new NotInMemoryException();
      }
      throw new StorageException("reading the log's store failed: " + e.getMessage(), e);
    }
  }

  /**
   * A read from memory only found that it needs the disk: not a failure; read again where waiting
   * is fine.
   */
  public static final class NotInMemoryException extends RuntimeException {
    NotInMemoryException() {
      super("the read needs the disk", null, false, false);
    }
  }

  public OptionalLong indexOfLeafHash(byte[] leafHash) {
    byte[] v = get(leafHashes, leafHash);
    return v == null ? OptionalLong.empty() : OptionalLong.of(StoreKeys.index(v));
  }

  /**
   * Where the entry with this dedup key is: by its leaf hash when the key is the leaf hash, else by
   * its entry id ({@code AppendBatch#addLeaf}).
   */
  public OptionalLong indexOfDedupKey(byte[] key, boolean keyIsLeafHash) {
    return keyIsLeafHash ? indexOfLeafHash(key) : indexOfEntryId(key);
  }

  /**
   * {@link #indexOfDedupKey} for many keys in one batched read (RocksDB's MultiGet): the index of
   * each, or -1 for a key the log does not hold. Requires {@code keys.size() ==
   * keyIsLeafHash.length}.
   */
  public long[] indicesOfDedupKeys(List<byte[]> keys, boolean[] keyIsLeafHash) {
    List<ColumnFamilyHandle> families = new ArrayList<>(keys.size());
    for (boolean byHash : keyIsLeafHash) families.add(byHash ? leafHashes : entryIds);
    try {
      List<byte[]> found = db.multiGetAsList(families, keys);
      long[] out = new long[keys.size()];
      for (int i = 0; i < out.length; i++)
        out[i] = found.get(i) == null ? -1 : StoreKeys.index(found.get(i));
      return out;
    } catch (RocksDBException e) {
      throw new StorageException("reading the log's store failed: " + e.getMessage(), e);
    }
  }

  public OptionalLong indexOfEntryId(byte[] entryId) {
    byte[] v = get(entryIds, entryId);
    return v == null ? OptionalLong.empty() : OptionalLong.of(StoreKeys.index(v));
  }

  /** Leaves [start, end) in order, read with one iterator. */
  public void scanLeaves(long start, long end, LeafConsumer consumer) {
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(leaves, ro)) {
      long expected = start;
      for (it.seek(StoreKeys.index(start)); it.isValid() && expected < end; it.next(), expected++) {
        long i = StoreKeys.index(it.key());
        if (i != expected)
          throw new StorageException("leaf " + expected + " is missing from the store");
        if (!consumer.accept(i, it.value())) return;
      }
      it.status();
      if (expected < end)
        throw new StorageException("leaf " + expected + " is missing from the store");
    } catch (RocksDBException e) {
      throw new StorageException("reading leaves failed: " + e.getMessage(), e);
    }
  }

  /**
   * Slices {@code [from, to)} of a stratum, in order, as stored (see {@link #slice}); one
   * sequential scan.
   */
  public void scanSlices(int stratum, long from, long to, SliceConsumer consumer) {
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(nodes, ro)) {
      long expected = from;
      for (it.seek(StoreKeys.slice(stratum, from));
          it.isValid() && expected < to;
          it.next(), expected++) {
        if (!Arrays.equals(it.key(), StoreKeys.slice(stratum, expected))) {
          throw new StorageException(
              "slice " + stratum + "/" + expected + " is missing from the store");
        }
        if (!consumer.accept(expected, it.value())) return;
      }
      it.status();
      if (expected < to)
        throw new StorageException(
            "slice " + stratum + "/" + expected + " is missing from the store");
    } catch (RocksDBException e) {
      throw new StorageException("reading slices failed: " + e.getMessage(), e);
    }
  }

  @FunctionalInterface
  public interface SliceConsumer {
    /**
     * @return false to stop
     */
    boolean accept(long n, byte[] hashes);
  }

  /**
   * Distinct lookup keys that begin with {@code prefix} and end in a 0 byte (variable-length keys
   * so ended, of which none is a prefix of another), each with an index below {@code size}, in key
   * order, at most {@code limit}: one seek per key listed, however many indices each has.
   */
  public List<byte[]> lookupKeysWithPrefix(byte[] prefix, long size, int limit) {
    List<byte[]> out = new ArrayList<>();
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(lookups, ro)) {
      for (it.seek(prefix); it.isValid() && out.size() < limit; ) {
        byte[] k = it.key();
        if (k.length < prefix.length + 9
            || !Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length)) break;
        byte[] key = Arrays.copyOf(k, k.length - 8);
        if (key[key.length - 1] != 0) break;
        if (indexOf(k) < size) out.add(key); // its smallest index comes first
        // Past every index of this key: the key with its 0 byte raised to 1.
        byte[] next = key.clone();
        next[next.length - 1] = 1;
        it.seek(next);
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("listing lookup keys failed: " + e.getMessage(), e);
    }
    return out;
  }

  /**
   * Indices filed under a lookup key, from {@code startIndex} on, in order, at most {@code limit}.
   */
  public List<Long> lookup(byte[] lookupKey, long startIndex, int limit) {
    List<Long> out = new ArrayList<>();
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(lookups, ro)) {
      for (it.seek(withIndex(lookupKey, Math.max(0, startIndex)));
          it.isValid() && out.size() < limit;
          it.next()) {
        byte[] k = it.key();
        if (!hasPrefix(k, lookupKey)) break;
        out.add(indexOf(k));
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("reading a lookup failed: " + e.getMessage(), e);
    }
    return out;
  }

  /**
   * Indices filed under a lookup key, below {@code beforeIndex}, newest first, at most {@code
   * limit}: one seek and {@code limit} steps, however many the key holds.
   */
  public List<Long> lookupNewest(byte[] lookupKey, long beforeIndex, int limit) {
    List<Long> out = new ArrayList<>();
    if (beforeIndex <= 0) return out;
    try (ReadOptions ro = new ReadOptions();
        RocksIterator it = db.newIterator(lookups, ro)) {
      for (it.seekForPrev(withIndex(lookupKey, beforeIndex - 1));
          it.isValid() && out.size() < limit;
          it.prev()) {
        byte[] k = it.key();
        if (!hasPrefix(k, lookupKey)) break;
        out.add(indexOf(k));
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("reading a lookup failed: " + e.getMessage(), e);
    }
    return out;
  }

  @FunctionalInterface
  public interface LeafConsumer {
    /**
     * @return false to stop
     */
    boolean accept(long index, byte[] leaf);
  }

  private byte[] get(ColumnFamilyHandle cf, byte[] key) {
    try {
      return db.get(cf, key);
    } catch (RocksDBException e) {
      throw new StorageException("reading the log's store failed: " + e.getMessage(), e);
    }
  }

  private final AtomicBoolean closed = new AtomicBoolean();

  /**
   * Flushes memtables so that the next start has no WAL to replay. Closing twice is harmless
   * (RocksJava would crash).
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) return;
    if (!readOnly) flush();
    // RocksJava wants the column family handles closed before the database, options after.
    closeAll(new ArrayList<>(handles));
    db.close();
    closeAll(resources);
    unsynced.close();
    memoryOnly.close();
  }

  private void flush() {
    try (FlushOptions fo = new FlushOptions().setWaitForFlush(true)) {
      db.flush(fo, handles);
    } catch (RocksDBException ignored) {
      // Every acknowledged write is already in the synced WAL; flushing only shortens the next
      // start.
    }
  }

  private static void closeAll(List<AutoCloseable> rs) {
    for (int i = rs.size() - 1; i >= 0; i--) {
      try {
        rs.get(i).close();
      } catch (Exception ignored) {
        // Closing native handles on the way out; nothing useful to do on failure.
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String string(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  /** A lookup's full key: the lookup key, then the index (8 bytes, big-endian: log order). */
  static byte[] withIndex(byte[] key, long index) {
    return ByteBuffer.allocate(key.length + 8).put(key).putLong(index).array();
  }

  private static boolean hasPrefix(byte[] k, byte[] prefix) {
    return k.length == prefix.length + 8
        && Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length);
  }

  private static long indexOf(byte[] k) {
    return ByteBuffer.wrap(k, k.length - 8, 8).getLong();
  }
}
