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

/**
 * Stores of earlier formats: one without the marker predates mid tiles and is refused by name;
 * format 2 gains its lookups, format 3 its slices, each once.
 */
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
    try (DBOptions o = new DBOptions();
        RocksDB db = RocksDB.open(o, dir.toString(), descs, handles)) {
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
    dev.custody.chain.LinkKeys.Signer key =
        dev.custody.chain.LinkKeys.generate(dev.custody.chain.LinkKeys.Scheme.ED25519);
    dev.custody.chain.SignedLink link =
        dev.custody.chain.SignedLink.sign(
            new dev.custody.chain.Statement(
                "registry.example/old/app",
                m,
                0,
                m,
                m,
                m,
                dev.custody.chain.Statement.NO_PREDECESSOR,
                1L),
            key);
    byte[] leaf = new dev.custody.chain.Leaf(5, link.encoded()).encode();
    try (LogStorage s = LogStorage.open(dir)) {
      AppendBatch b = new AppendBatch();
      // As a format 2 server filed it: no lookups by (manifest, layer) or (manifest, signer).
      b.addLeaf(
          0,
          leaf,
          dev.custody.merkle.Hashes.leafHash(leaf),
          link.linkId(),
          List.of(dev.custody.server.read.LinkIndex.manifest(m)));
      b.addLeaf(
          1,
          new byte[] {1, 2, 3},
          dev.custody.merkle.Hashes.leafHash(new byte[] {1, 2, 3}),
          null,
          List.of());
      b.setCheckpoint(2, "note\n", new byte[0]);
      s.commit(b);
    }
    setFormat(dir, "2");
    try (LogStorage s = LogStorage.open(dir)) {
      assertTrue(s.needsLookupUpgrade());
      assertTrue(s.highestUnder(dev.custody.server.read.LinkIndex.manifestLayers(m)).isEmpty());
      assertEquals(2, s.lookupsOfFormat());
      assertEquals(
          2,
          s.upgradeLookups(2, leaf2 -> dev.custody.server.read.LinkIndex.keysAddedSince(2, leaf2)));
      assertEquals(
          0L, s.highestUnder(dev.custody.server.read.LinkIndex.manifestLayers(m)).getAsLong());
      assertEquals(
          List.of(0L), s.lookup(dev.custody.server.read.LinkIndex.manifestAtLayer(m, 0), 0, 10));
      assertEquals(
          List.of(0L),
          s.lookup(dev.custody.server.read.LinkIndex.manifestSigner(m, link.keyId()), 0, 10));
      assertEquals(
          List.of(),
          s.lookup(dev.custody.server.read.LinkIndex.manifestSigner(m, new byte[32]), 0, 10));
      assertEquals(
          List.of(0L),
          s.lookup(dev.custody.server.read.LinkIndex.layer(m), 0, 10),
          "format 5's lookups too");
      assertEquals(
          List.of("registry.example/old/app"),
          new dev.custody.server.read.LinkIndex(s)
              .repositoriesWithPrefix("registry.example/", 2, 10));
    }
    try (LogStorage s = LogStorage.open(dir)) {
      assertTrue(!s.needsLookupUpgrade(), "the upgrade is recorded");
    }
  }

  @Test
  void aFormat3StoreIsCutIntoSlicesEvenWhenAnEarlierStartWasCutShort() throws Exception {
    dev.custody.note.Ed25519NoteKeys.Signer key =
        dev.custody.note.Ed25519NoteKeys.generate("test/log", new java.security.SecureRandom());
    int total = 70_000; // a full level-1 tile and a partial one, mid tiles at levels 4 and 12
    List<byte[]> tilesBefore = new ArrayList<>();
    List<List<byte[]>> proofsBefore = new ArrayList<>();
    try (LogStorage s = LogStorage.open(dir)) {
      dev.custody.server.OpaqueFill.fill(s, "test/log", key, total);
      for (int level = 0; level < 3; level++) {
        for (long t = 0; dev.custody.tiles.Tiles.width(level, t, total) > 0; t++)
          tilesBefore.add(s.tile(level, t).orElseThrow());
      }
      var reader = new dev.custody.server.read.LogReader(s);
      for (long i = 0; i < total; i += 997) proofsBefore.add(reader.inclusion(i, total));
    }
    int legacy = toLegacyTiles(dir, 2); // every other tile back to one record: a start cut short
    assertTrue(legacy > 140, "legacy tiles written: " + legacy);
    setFormat(dir, "3");
    try (LogStorage s = LogStorage.open(dir)) {
      assertEquals(3, s.lookupsOfFormat(), "format 3 lacks format 5's lookups");
      s.upgradeLookups(total, leaf -> dev.custody.server.read.LinkIndex.keysAddedSince(3, leaf));
      int k = 0;
      for (int level = 0; level < 3; level++) {
        for (long t = 0; dev.custody.tiles.Tiles.width(level, t, total) > 0; t++) {
          org.junit.jupiter.api.Assertions.assertArrayEquals(
              tilesBefore.get(k++), s.tile(level, t).orElseThrow(), "tile " + level + "/" + t);
        }
      }
      var reader = new dev.custody.server.read.LogReader(s);
      k = 0;
      for (long i = 0; i < total; i += 997) {
        List<byte[]> want = proofsBefore.get(k++);
        List<byte[]> got = reader.inclusion(i, total);
        assertEquals(want.size(), got.size());
        for (int j = 0; j < want.size(); j++)
          org.junit.jupiter.api.Assertions.assertArrayEquals(want.get(j), got.get(j));
      }
    }
    assertEquals(0, toLegacyTiles(dir, 0), "no tile record of the old format is left");
    assertEquals("5", format(dir));
  }

  /**
   * Rewrites every {@code every}-th tile (0: none) as one record of the old format, as a server of
   * format 3 kept it, and deletes its slices. Returns the records written.
   */
  private static int toLegacyTiles(Path dir, int every) throws Exception {
    List<ColumnFamilyDescriptor> descs = new ArrayList<>();
    for (byte[] name : RocksDB.listColumnFamilies(new org.rocksdb.Options(), dir.toString())) {
      descs.add(new ColumnFamilyDescriptor(name));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    int written = 0;
    try (DBOptions o = new DBOptions();
        RocksDB db = RocksDB.open(o, dir.toString(), descs, handles)) {
      ColumnFamilyHandle nodes = null;
      ColumnFamilyHandle tiles = null;
      for (int i = 0; i < descs.size(); i++) {
        String name = new String(descs.get(i).getName(), StandardCharsets.UTF_8);
        if (name.equals("nodes")) nodes = handles.get(i);
        if (name.equals("tiles")) tiles = handles.get(i);
      }
      if (every > 0) {
        java.util.TreeMap<String, java.io.ByteArrayOutputStream> records =
            new java.util.TreeMap<>();
        java.util.Map<String, byte[]> legacyKeys = new java.util.HashMap<>();
        try (org.rocksdb.RocksIterator it = db.newIterator(nodes)) {
          for (it.seekToFirst(); it.isValid(); it.next()) {
            java.nio.ByteBuffer k = java.nio.ByteBuffer.wrap(it.key());
            int stratum = k.get();
            long tile = k.getLong() / 16;
            if (tile % every != 0) continue;
            byte level = (byte) (stratum % 2 == 0 ? stratum / 2 : 0x80 | stratum / 2);
            String id = stratum + "/" + tile;
            legacyKeys.put(id, java.nio.ByteBuffer.allocate(9).put(level).putLong(tile).array());
            records
                .computeIfAbsent(id, x -> new java.io.ByteArrayOutputStream())
                .writeBytes(it.value());
            db.delete(nodes, it.key());
          }
        }
        for (var e : records.entrySet()) {
          db.put(tiles, legacyKeys.get(e.getKey()), e.getValue().toByteArray());
          written++;
        }
      } else {
        try (org.rocksdb.RocksIterator it = db.newIterator(tiles)) {
          for (it.seekToFirst(); it.isValid(); it.next()) written++;
        }
      }
      handles.forEach(ColumnFamilyHandle::close);
    }
    return written;
  }

  private static String format(Path dir) throws Exception {
    List<ColumnFamilyDescriptor> descs = new ArrayList<>();
    for (byte[] name : RocksDB.listColumnFamilies(new org.rocksdb.Options(), dir.toString())) {
      descs.add(new ColumnFamilyDescriptor(name));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions o = new DBOptions();
        RocksDB db = RocksDB.open(o, dir.toString(), descs, handles)) {
      String f = null;
      for (int i = 0; i < descs.size(); i++) {
        if (new String(descs.get(i).getName(), StandardCharsets.UTF_8).equals("meta")) {
          f =
              new String(
                  db.get(handles.get(i), "format".getBytes(StandardCharsets.UTF_8)),
                  StandardCharsets.UTF_8);
        }
      }
      handles.forEach(ColumnFamilyHandle::close);
      return f;
    }
  }
}
