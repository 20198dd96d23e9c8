package dev.custody.server.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;

/** A store holding a log but no format marker predates mid tiles: refused by name, never served. */
class StoreFormatTest {
  @TempDir Path dir;

  @Test
  void aLogWithoutTheFormatMarkerIsRefused() throws Exception {
    try (LogStorage s = LogStorage.open(dir)) {
      AppendBatch b = new AppendBatch();
      b.addLeaf(0, new byte[] {1}, new byte[32], null, List.of());
      b.setCheckpoint(1, "note\n", new byte[0]);
      s.commit(b);
    }
    LogStorage.open(dir).close(); // the marker written at creation is accepted
    setFormat(dir, null);
    StorageException e = assertThrows(StorageException.class, () -> LogStorage.open(dir));
    assertTrue(e.getMessage().contains("format 1"), e.getMessage());
  }

  /** Writes the store's format marker behind its back; null deletes it. */
  private static void setFormat(Path dir, String format) throws Exception {
    List<ColumnFamilyDescriptor> descs = new ArrayList<>();
    for (byte[] name : RocksDB.listColumnFamilies(new org.rocksdb.Options(), dir.toString())) {
      descs.add(new ColumnFamilyDescriptor(name));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions o = new DBOptions(); RocksDB db = RocksDB.open(o, dir.toString(), descs, handles)) {
      for (int i = 0; i < descs.size(); i++) {
        if (new String(descs.get(i).getName(), StandardCharsets.UTF_8).equals("meta")) {
          byte[] key = "format".getBytes(StandardCharsets.UTF_8);
          if (format == null) {
            db.delete(handles.get(i), key);
          } else {
            db.put(handles.get(i), key, format.getBytes(StandardCharsets.UTF_8));
          }
        }
      }
      handles.forEach(ColumnFamilyHandle::close);
    }
  }

  @Test
  void aFormat2StoreIsUpgradedWithTheNewLookupsOnce() throws Exception {
    dev.custody.chain.Digest m = dev.custody.chain.Digest.sha256Of(new byte[] {9});
    dev.custody.chain.LinkKeys.Signer key = dev.custody.chain.LinkKeys.generate(dev.custody.chain.LinkKeys.Scheme.ED25519);
    dev.custody.chain.SignedLink link = dev.custody.chain.SignedLink.sign(new dev.custody.chain.Statement(
        "registry.example/old/app", m, 0, m, m, m, dev.custody.chain.Statement.NO_PREDECESSOR, 1L), key);
    byte[] leaf = new dev.custody.chain.Leaf(5, link.encoded()).encode();
    try (LogStorage s = LogStorage.open(dir)) {
      AppendBatch b = new AppendBatch();
      // As a format 2 server filed it: no lookups by (manifest, layer) or (manifest, signer).
      b.addLeaf(0, leaf, dev.custody.merkle.Hashes.leafHash(leaf), link.linkId(), List.of(LookupKeys.manifest(m)));
      b.addLeaf(1, new byte[] {1, 2, 3}, dev.custody.merkle.Hashes.leafHash(new byte[] {1, 2, 3}), null, List.of());
      b.setCheckpoint(2, "note\n", new byte[0]);
      s.commit(b);
    }
    setFormat(dir, "2");
    try (LogStorage s = LogStorage.open(dir)) {
      assertTrue(s.needsLookupUpgrade());
      assertTrue(s.highestUnder(LookupKeys.manifestLayers(m)).isEmpty());
      assertEquals(2, s.upgradeLookups(2, dev.custody.server.admission.LayerLinkAdmission::lookupsAddedInFormat3));
      assertEquals(0L, s.highestUnder(LookupKeys.manifestLayers(m)).getAsLong());
      assertEquals(List.of(0L), s.lookup(LookupKeys.manifestAtLayer(m, 0), 0, 10));
      assertEquals(List.of(0L), s.lookup(LookupKeys.manifestSigner(m, link.keyId()), 0, 10));
      assertEquals(List.of(), s.lookup(LookupKeys.manifestSigner(m, new byte[32]), 0, 10));
    }
    try (LogStorage s = LogStorage.open(dir)) {
      assertTrue(!s.needsLookupUpgrade(), "the upgrade is recorded");
    }
  }
}
