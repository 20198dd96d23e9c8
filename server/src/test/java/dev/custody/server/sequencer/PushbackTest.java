package dev.custody.server.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.guard.StandingQueue;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.storage.LogStorage;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full queue refuses at once; the queue drains and service resumes when the sequencer catches up.
 */
class PushbackTest {
  @TempDir Path dir;

  private static Admitted entry(int i) {
    return Admitted.opaque(new byte[] {(byte) (i >> 8), (byte) i, 1, 2, 3});
  }

  /**
   * A batch listener that holds the sequencer thread (it runs there, after the commit and before
   * anyone is told) until {@code gate} opens; {@code entered} counts down when it first does.
   */
  static BatchListener holding(CountDownLatch gate, CountDownLatch entered) {
    return (n, t) -> {
      entered.countDown();
      try {
        gate.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
  }

  /** A listener that takes {@code millis} per batch on the sequencer thread: a slow disk, say. */
  private static BatchListener slow(long millis) {
    return (n, t) -> {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
  }

  @Test
  void fullQueueAnswersOverloadedAtOnceAndRecovers() throws Exception {
    try (LogStorage storage = LogStorage.open(dir)) {
      Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("t/log", new SecureRandom());
      CountDownLatch gate = new CountDownLatch(1);
      CountDownLatch entered = new CountDownLatch(1);
      GroupCommitSequencer seq =
          new GroupCommitSequencer(storage, "t/log", List.of(key), 2, 1, holding(gate, entered));
      try {
        CompletableFuture<Sequenced> stuck = seq.add(entry(0));
        // Once the sequencer is inside the first entry, the queue of two fills and the third is
        // refused.
        assertTrue(
            entered.await(10, TimeUnit.SECONDS), "sequencer never picked up the first entry");
        CompletableFuture<Sequenced> a = seq.add(entry(1));
        CompletableFuture<Sequenced> b = seq.add(entry(2));
        CompletableFuture<Sequenced> refused = seq.add(entry(3));
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
        assertEquals(3, seq.add(entry(3)).get(10, TimeUnit.SECONDS).index());
      } finally {
        gate.countDown();
        seq.close();
      }
    }
  }

  @Test
  void aBurstThatDrainsWithinTheIntervalIsServedWhole() throws Exception {
    try (LogStorage storage = LogStorage.open(dir)) {
      Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("t/log", new SecureRandom());
      // 20 entries at 15 ms each take 300 ms to drain, far above the 5 ms target, but within the 2
      // s interval.
      GroupCommitSequencer seq =
          new GroupCommitSequencer(
              storage, "t/log", List.of(key), 1000, 1, new StandingQueue.Rule(5, 2_000), slow(15));
      try {
        List<CompletableFuture<Sequenced>> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) all.add(seq.add(entry(i)));
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
      // Entries take 20 ms each and arrive every 4 ms: five times what the sequencer serves, for
      // 600 ms.
      // The queue stands once every departure waited above 5 ms for 60 ms.
      GroupCommitSequencer seq =
          new GroupCommitSequencer(
              storage, "t/log", List.of(key), 1000, 1, new StandingQueue.Rule(5, 60), slow(20));
      try {
        List<CompletableFuture<Sequenced>> all = new ArrayList<>();
        int refusedAtOnce = 0;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(600);
        for (int i = 0; System.nanoTime() < end; i++) {
          CompletableFuture<Sequenced> f = seq.add(entry(i));
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
            assertTrue(
                i >= 3, "the first arrivals came before the queue stood for a whole interval");
          }
        }
        assertTrue(served >= 3 && served < all.size(), served + " of " + all.size());
        assertEquals(served, seq.head().size(), "refused entries take no index");
        // Drained: the next one is admitted and served.
        assertEquals(
            served,
            seq.add(entry(10_000)).get(10, TimeUnit.SECONDS).index(),
            "service resumes once drained");
      } finally {
        seq.close();
      }
    }
  }
}
