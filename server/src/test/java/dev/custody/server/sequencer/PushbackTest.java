package dev.custody.server.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.admission.Admitted;
import dev.custody.server.guard.StandingQueue;
import dev.custody.server.storage.LogStorage;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A full queue refuses at once; the queue drains and service resumes when the sequencer catches up. */
class PushbackTest {
  @TempDir Path dir;

  /** An entry whose leaf is built on the sequencer thread, so the test can hold that thread still. */
  private static Admitted entry(int i, CountDownLatch gate) {
    return entry(i, gate, new CountDownLatch(1));
  }

  private static Admitted entry(int i, CountDownLatch gate, CountDownLatch entered) {
    byte[] leaf = {(byte) i, 1, 2, 3};
    return new Admitted() {
      @Override public byte[] dedupKey() { return Hashes.leafHash(leaf); }

      @Override public boolean keyedByLeafHash() { return true; }

      @Override public byte[] leaf(long ts) {
        entered.countDown();
        try {
          gate.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return leaf;
      }
    };
  }

  @Test
  void fullQueueAnswersOverloadedAtOnceAndRecovers() throws Exception {
    try (LogStorage storage = LogStorage.open(dir)) {
      Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("t/log", new SecureRandom());
      CountDownLatch gate = new CountDownLatch(1);
      GroupCommitSequencer seq = new GroupCommitSequencer(storage, "t/log", key, 2, 1, (n, t) -> { });
      try {
        CountDownLatch entered = new CountDownLatch(1);
        CompletableFuture<Sequenced> stuck = seq.add(entry(0, gate, entered));
        // Once the sequencer is inside the first entry, the queue of two fills and the third is refused.
        assertTrue(entered.await(10, TimeUnit.SECONDS), "sequencer never picked up the first entry");
        CompletableFuture<Sequenced> a = seq.add(entry(1, gate));
        CompletableFuture<Sequenced> b = seq.add(entry(2, gate));
        CompletableFuture<Sequenced> refused = seq.add(entry(3, gate));
        assertFalse(a.isDone());
        assertFalse(b.isDone());
        assertTrue(refused.isDone(), "an entry beyond the queue must be refused at once, not wait");
        ExecutionException e = assertThrows(ExecutionException.class, refused::get);
        assertTrue(e.getCause() instanceof OverloadedException);
        assertTrue(e.getCause().getMessage().contains("busy"), e.getCause().getMessage());
        assertFalse(stuck.isDone());
        gate.countDown();
        assertEquals(0, stuck.get(10, TimeUnit.SECONDS).index());
        assertEquals(1, a.get(10, TimeUnit.SECONDS).index());
        assertEquals(2, b.get(10, TimeUnit.SECONDS).index());
        assertEquals(3, seq.add(entry(3, gate)).get(10, TimeUnit.SECONDS).index());
      } finally {
        gate.countDown();
        seq.close();
      }
    }
  }

  /** An entry whose leaf takes {@code millis} to build on the sequencer thread: a slow disk, say. */
  private static Admitted slow(int i, long millis) {
    byte[] leaf = {(byte) (i >> 8), (byte) i, 7, 7};
    return new Admitted() {
      @Override public byte[] dedupKey() { return Hashes.leafHash(leaf); }

      @Override public boolean keyedByLeafHash() { return true; }

      @Override public byte[] leaf(long ts) {
        try {
          Thread.sleep(millis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return leaf;
      }
    };
  }

  @Test
  void aBurstThatDrainsWithinTheIntervalIsServedWhole() throws Exception {
    try (LogStorage storage = LogStorage.open(dir)) {
      Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("t/log", new SecureRandom());
      // 20 entries at 15 ms each take 300 ms to drain, far above the 5 ms target, but within the 2 s interval.
      GroupCommitSequencer seq = new GroupCommitSequencer(storage, "t/log", key, 1000, 1,
          new StandingQueue.Rule(5, 2_000), (n, t) -> { });
      try {
        java.util.List<CompletableFuture<Sequenced>> all = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) all.add(seq.add(slow(i, 15)));
        for (CompletableFuture<Sequenced> f : all) f.get(10, TimeUnit.SECONDS);
        assertEquals(20, seq.head().size());
      } finally {
        seq.close();
      }
    }
  }

  @Test
  void aStandingQueueRefusesArrivalsThenRecoversOnceDrained() throws Exception {
    try (LogStorage storage = LogStorage.open(dir)) {
      Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("t/log", new SecureRandom());
      // Entries take 20 ms each and arrive every 4 ms: five times what the sequencer serves, for 600 ms.
      // The queue stands once every departure waited above 5 ms for 60 ms.
      GroupCommitSequencer seq = new GroupCommitSequencer(storage, "t/log", key, 1000, 1,
          new StandingQueue.Rule(5, 60), (n, t) -> { });
      try {
        java.util.List<CompletableFuture<Sequenced>> all = new java.util.ArrayList<>();
        int refusedAtOnce = 0;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(600);
        for (int i = 0; System.nanoTime() < end; i++) {
          CompletableFuture<Sequenced> f = seq.add(slow(i, 20));
          if (f.isCompletedExceptionally()) refusedAtOnce++;
          all.add(f);
          Thread.sleep(4);
        }
        assertTrue(refusedAtOnce > 0, "a sustained overload must be refused at the door");
        int served = 0;
        for (int i = 0; i < all.size(); i++) {
          try {
            all.get(i).get(10, TimeUnit.SECONDS);
            served++;
          } catch (ExecutionException x) {
            assertTrue(x.getCause() instanceof OverloadedException, String.valueOf(x.getCause()));
            assertTrue(x.getCause().getMessage().contains("behind"), x.getCause().getMessage());
            assertTrue(i >= 3, "the first arrivals came before the queue stood for a whole interval");
          }
        }
        assertTrue(served >= 3 && served < all.size(), served + " of " + all.size());
        assertEquals(served, seq.head().size(), "refused entries take no index");
        // Drained: the next one is admitted and served.
        assertEquals(served, seq.add(slow(10_000, 0)).get(10, TimeUnit.SECONDS).index(), "service resumes once drained");
      } finally {
        seq.close();
      }
    }
  }
}
