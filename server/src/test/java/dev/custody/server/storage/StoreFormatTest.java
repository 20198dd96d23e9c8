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
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

/**
 * A store is read only in its own format: one without the marker, or of any other format, is
 * refused with the reason and left untouched (no store was released, so none is upgraded).
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
    for (byte[] name : RocksDB.listColumnFamilies(new Options(), dir.toString())) {
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
  void aStoreOfADevelopmentFormatIsRefusedByNameAndLeftAsItWas() throws Exception {
    try (LogStorage s = LogStorage.open(dir)) {
      AppendBatch b = new AppendBatch();
      b.addLeaf(0, new byte[] {1}, new byte[32], null, List.of());
      b.setCheckpoint(1, "note\n", new byte[0]);
      s.commit(b);
    }
    for (String old : List.of("2", "3", "4", "6")) {
      setFormat(dir, old);
      StorageException e = assertThrows(StorageException.class, () -> LogStorage.open(dir));
      assertTrue(
          e.getMessage().contains("is in format " + old + ", written by a development version")
              && e.getMessage().contains("reads format " + LogStorage.FORMAT + " only")
              && e.getMessage().contains("new --data-dir"),
          e.getMessage());
      assertEquals(old, format(dir), "a refused store is not touched");
    }
    setFormat(dir, LogStorage.FORMAT);
    try (LogStorage s = LogStorage.open(dir)) {
      assertTrue(s.leaf(0).isPresent(), "the same store opens again in its own format");
    }
  }

  /** The store's format marker, read behind its back. */
  private static String format(Path dir) throws Exception {
    List<ColumnFamilyDescriptor> descs = new ArrayList<>();
    for (byte[] name : RocksDB.listColumnFamilies(new Options(), dir.toString())) {
      descs.add(new ColumnFamilyDescriptor(name));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions o = new DBOptions();
        RocksDB db = RocksDB.open(o, dir.toString(), descs, handles)) {
      try {
        for (int i = 0; i < descs.size(); i++) {
          if (new String(descs.get(i).getName(), StandardCharsets.UTF_8).equals("meta")) {
            byte[] v = db.get(handles.get(i), "format".getBytes(StandardCharsets.UTF_8));
            return v == null ? null : new String(v, StandardCharsets.UTF_8);
          }
        }
        return null;
      } finally {
        handles.forEach(ColumnFamilyHandle::close);
      }
    }
  }
}
