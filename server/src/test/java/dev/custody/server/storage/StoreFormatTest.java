package dev.custody.server.storage;

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
    List<ColumnFamilyDescriptor> descs = new ArrayList<>();
    for (byte[] name : RocksDB.listColumnFamilies(new org.rocksdb.Options(), dir.toString())) {
      descs.add(new ColumnFamilyDescriptor(name));
    }
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try (DBOptions o = new DBOptions(); RocksDB db = RocksDB.open(o, dir.toString(), descs, handles)) {
      for (int i = 0; i < descs.size(); i++) {
        if (new String(descs.get(i).getName(), StandardCharsets.UTF_8).equals("meta")) {
          db.delete(handles.get(i), "format".getBytes(StandardCharsets.UTF_8));
        }
      }
      handles.forEach(ColumnFamilyHandle::close);
    }
    StorageException e = assertThrows(StorageException.class, () -> LogStorage.open(dir));
    assertTrue(e.getMessage().contains("format 1"), e.getMessage());
  }
}
