package dev.custody.server.read;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.OpaqueFill;
import dev.custody.server.storage.LogStorage;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two ways of reading proofs: from memory only (for event loops) refuses, by a typed exception,
 * a proof that needs the disk and gives the same bytes once it does not; prefetching caches every
 * stratum that fits the slice cache (at this size, all of them), so that proofs on a cold store
 * then need no disk and read almost nothing.
 */
class ProofReadsTest {
  private static final int TOTAL = 300_000; // strata 0..4

  @TempDir Path dir;

  @Test
  void memoryOnlyRefusesWhatNeedsTheDiskAndAgreesOtherwise() throws Exception {
    build();
    try (LogStorage s =
        LogStorage.open(dir)) { // a fresh block cache; memtables were flushed at close
      LogReader reader = new LogReader(s);
      long index = 123_457;
      assertThrows(
          LogStorage.NotInMemoryException.class, () -> reader.fromMemory().inclusion(index, TOTAL));
      List<byte[]> fromDisk = reader.mayWait().inclusion(index, TOTAL);
      List<byte[]> fromMemory =
          reader.fromMemory().inclusion(index, TOTAL); // its blocks are cached now
      assertEquals(fromDisk.size(), fromMemory.size());
      for (int i = 0; i < fromDisk.size(); i++)
        assertArrayEquals(fromDisk.get(i), fromMemory.get(i));
      assertArrayEquals(reader.mayWait().root(TOTAL), reader.fromMemory().root(TOTAL));
    }
  }

  @Test
  void prefetchingCachesTheStrataThatFit() throws Exception {
    build();
    try (LogStorage s = LogStorage.open(dir)) {
      LogReader reader = new LogReader(s);
      long cached = reader.prefetch(TOTAL);
      // Strata 0..4 of 300,000 leaves: 18,750 + ceil(1,171.9) + ceil(73.2) + ceil(4.6) + 1 slices.
      assertEquals(18_750 + 1_172 + 74 + 5 + 1, cached);
      SplittableRandom rnd = new SplittableRandom(5);
      for (int k = 0; k < 400; k++)
        reader.fromMemory().inclusion(rnd.nextLong(TOTAL), TOTAL); // no disk
      // The cache is direct-mapped: a few slices (each proof reads five strata) lose their slot and
      // are read again.
      assertTrue(
          reader.tileReads() <= 100,
          reader.tileReads() + " slices read by 400 proofs after prefetching");
    }
  }

  private void build() throws Exception {
    Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("test/log", new SecureRandom());
    try (LogStorage s = LogStorage.open(dir)) {
      OpaqueFill.fill(s, "test/log", key, TOTAL);
    }
  }
}
