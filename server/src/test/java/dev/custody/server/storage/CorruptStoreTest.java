package dev.custody.server.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.merkle.Hashes;
import dev.custody.server.api.Statuses;
import io.grpc.Status;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A damaged table file is found at start (truncated) or by the checksum pass (bytes changed), never
 * served.
 */
class CorruptStoreTest {
  @TempDir Path dir;

  private Path largestTableAfterFilling() throws Exception {
    try (LogStorage s = LogStorage.open(dir)) {
      for (int b = 0; b < 20; b++) {
        AppendBatch batch = new AppendBatch();
        for (int i = 0; i < 500; i++) {
          long index = b * 500L + i;
          byte[] leaf = ByteBuffer.allocate(200).putLong(index).array();
          batch.addLeaf(index, leaf, Hashes.leafHash(leaf), null, List.of());
        }
        batch.setCheckpoint(b * 500L + 500, "note " + b + "\n", new byte[0]);
        s.commit(batch);
      }
    } // closing flushes the memtables into table files
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .filter(p -> p.toString().endsWith(".sst"))
          .max(Comparator.comparingLong(p -> p.toFile().length()))
          .orElseThrow();
    }
  }

  @Test
  void aTruncatedTableFileIsRefusedAtStart() throws Exception {
    Path sst = largestTableAfterFilling();
    try (RandomAccessFile f = new RandomAccessFile(sst.toFile(), "rw")) {
      f.setLength(f.length() / 2);
    }
    StorageException e = assertThrows(StorageException.class, () -> LogStorage.open(dir));
    assertTrue(e.getMessage().startsWith("cannot open the log's store in " + dir), e.getMessage());
    assertTrue(e.getMessage().contains(sst.getFileName().toString()), e.getMessage());
  }

  @Test
  void changedBytesInATableFileAreFoundByTheChecksumPass() throws Exception {
    Path sst = largestTableAfterFilling();
    try (RandomAccessFile f = new RandomAccessFile(sst.toFile(), "rw")) {
      f.seek(f.length() / 4); // inside a data block, far from the footer
      int b = f.read();
      f.seek(f.length() / 4);
      f.write(b ^ 0x5a);
    }
    try (LogStorage s = LogStorage.open(dir)) {
      StorageException e = assertThrows(StorageException.class, s::verifyChecksums);
      assertTrue(
          e.getMessage().contains("corrupted") && e.getMessage().contains("checksum mismatch"),
          e.getMessage());
      assertEquals(
          StorageException.Kind.CORRUPTION, e.kind(), "classified by RocksDB's status code");
      assertEquals(Status.Code.DATA_LOSS, Statuses.of(e).getCode());
    }
  }
}
