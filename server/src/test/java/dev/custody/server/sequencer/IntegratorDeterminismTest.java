package dev.custody.server.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.storage.LogStorage;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;

/**
 * The groundwork of a replicated log (every node must sign the same bytes): random batches, with
 * duplicates, integrated into two fresh stores with the same key give byte-identical stores — every
 * column family, every key and value, the signed checkpoints included — because integration depends
 * only on the tree edge, the entries, the timestamp and the key, and Ed25519 is deterministic.
 */
class IntegratorDeterminismTest {
  @TempDir Path dir;

  private static Admitted opaque(byte[] entry) {
    return Admitted.opaque(entry);
  }

  /**
   * Integrates the batches into a fresh store, dropping duplicates as the sequencer's dedup does.
   */
  private static void integrateAll(Path store, List<List<byte[]>> batches, byte[] seed) {
    Ed25519NoteKeys.Signer key = Ed25519NoteKeys.signerFromSeed("determinism.test/log", seed);
    Integrator integrator = new Integrator(key.name(), List.of(key));
    try (LogStorage s = LogStorage.open(store)) {
      TreeEdge edge = TreeEdge.empty();
      Set<ByteBuffer> seen = new HashSet<>();
      long ts = 1_764_288_000_000L;
      for (List<byte[]> batch : batches) {
        List<Admitted> fresh = new ArrayList<>();
        for (byte[] e : batch) {
          if (seen.add(ByteBuffer.wrap(Hashes.leafHash(e)))) fresh.add(opaque(e));
        }
        if (fresh.isEmpty()) continue;
        Integrator.Result r = integrator.integrate(edge, fresh, ts += 7);
        s.commit(r.batch());
        edge = r.edge();
      }
    }
  }

  /** SHA-256 over every column family's name, keys and values, in order. */
  private static byte[] digest(Path store) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    List<ColumnFamilyDescriptor> descs = new ArrayList<>();
    for (byte[] name : RocksDB.listColumnFamilies(new Options(), store.toString())) {
      descs.add(new ColumnFamilyDescriptor(name));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    long pairs = 0;
    try (DBOptions o = new DBOptions();
        RocksDB db = RocksDB.openReadOnly(o, store.toString(), descs, handles)) {
      for (int i = 0; i < descs.size(); i++) {
        md.update(descs.get(i).getName());
        try (RocksIterator it = db.newIterator(handles.get(i))) {
          for (it.seekToFirst(); it.isValid(); it.next()) {
            md.update(ByteBuffer.allocate(4).putInt(it.key().length).array());
            md.update(it.key());
            md.update(ByteBuffer.allocate(4).putInt(it.value().length).array());
            md.update(it.value());
            pairs++;
          }
        }
      }
      handles.forEach(ColumnFamilyHandle::close);
    }
    assertTrue(pairs > 1000, "the stores hold what was integrated: " + pairs + " pairs");
    return md.digest();
  }

  @Test
  void theSameBatchesGiveByteIdenticalStores() throws Exception {
    Random rnd = new Random(20261201);
    List<byte[]> pool = new ArrayList<>();
    List<List<byte[]>> batches = new ArrayList<>();
    for (int b = 0; b < 60; b++) {
      List<byte[]> batch = new ArrayList<>();
      int n = 1 + rnd.nextInt(120);
      for (int i = 0; i < n; i++) {
        if (!pool.isEmpty() && rnd.nextInt(5) == 0) {
          batch.add(
              pool.get(rnd.nextInt(pool.size())).clone()); // a duplicate, earlier or in this batch
        } else {
          byte[] e = new byte[1 + rnd.nextInt(300)];
          rnd.nextBytes(e);
          pool.add(e);
          batch.add(e);
        }
      }
      batches.add(batch);
    }
    byte[] seed = new byte[32];
    seed[0] = 42;
    integrateAll(dir.resolve("a"), batches, seed);
    integrateAll(dir.resolve("b"), batches, seed);
    assertEquals(
        HexFormat.of().formatHex(digest(dir.resolve("a"))),
        HexFormat.of().formatHex(digest(dir.resolve("b"))),
        "two replicas wrote different bytes");
    // And the latest checkpoints, signatures included, are the same text.
    try (LogStorage a = LogStorage.openReadOnly(dir.resolve("a"));
        LogStorage b = LogStorage.openReadOnly(dir.resolve("b"))) {
      assertEquals(a.latestCheckpoint().orElseThrow(), b.latestCheckpoint().orElseThrow());
    }
  }
}
