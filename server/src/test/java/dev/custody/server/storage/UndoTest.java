package dev.custody.server.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.merkle.Hashes;
import dev.custody.server.read.LinkIndex;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch whose commit failed but whose record reached the WAL anyway (here: committed outright,
 * the worst case) is erased by the next batch that undoes it: its leaves beyond the next batch, its
 * index entries and its checkpoint are gone, and what the next batch writes at the same keys stays.
 */
class UndoTest {
  @TempDir Path dir;

  private static AppendBatch batch(long from, long to, String tag) {
    AppendBatch b = new AppendBatch();
    for (long i = from; i < to; i++) {
      byte[] leaf = ByteBuffer.allocate(16).putLong(i).putLong(tag.hashCode()).array();
      b.addLeaf(
          i, leaf, Hashes.leafHash(leaf), null, List.of(LinkIndex.repository("r.example/" + tag)));
    }
    b.setCheckpoint(to, tag + " " + to + "\n", new byte[0]);
    return b;
  }

  private static byte[] leafHash(long i, String tag) {
    return Hashes.leafHash(ByteBuffer.allocate(16).putLong(i).putLong(tag.hashCode()).array());
  }

  @Test
  void theNextCommitErasesAFailedBatchThatReachedTheStoreAnyway() {
    try (LogStorage s = LogStorage.open(dir)) {
      s.commit(batch(0, 5, "real"));
      AppendBatch ghost = batch(5, 10, "ghost");
      s.commit(ghost); // as if its WAL record survived a failed sync
      AppendBatch next = batch(5, 7, "next");
      next.undo(ghost);
      s.commit(next);

      for (long i = 0; i < 7; i++) assertTrue(s.leaf(i).isPresent(), "leaf " + i);
      for (long i = 7; i < 10; i++)
        assertTrue(s.leaf(i).isEmpty(), "ghost leaf " + i + " survived");
      for (long i = 5; i < 10; i++)
        assertTrue(s.indexOfLeafHash(leafHash(i, "ghost")).isEmpty(), "ghost hash " + i);
      assertEquals(5, s.indexOfLeafHash(leafHash(5, "next")).getAsLong());
      assertTrue(s.checkpointAt(10).isEmpty(), "the ghost's checkpoint survived");
      assertEquals("next 7\n", s.checkpointAt(7).orElseThrow());
      assertEquals("real 5\n", s.checkpointAt(5).orElseThrow());
      assertEquals("next 7\n", s.latestCheckpoint().orElseThrow());
    }
  }
}
