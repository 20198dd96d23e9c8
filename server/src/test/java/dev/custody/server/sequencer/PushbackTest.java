package dev.custody.server.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.admission.Admitted;
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

  @Test
  void aQueueBehindItsTimeBoundRefusesAtOnceAndRecovers() throws Exception {
    try (LogStorage storage = LogStorage.open(dir)) {
      Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("t/log", new SecureRandom());
      CountDownLatch gate = new CountDownLatch(1);
      // A roomy queue bounded in time: 20 ms.
      GroupCommitSequencer seq = new GroupCommitSequencer(storage, "t/log", key, 1000, 1, 20, (n, t) -> { });
      try {
        CountDownLatch entered = new CountDownLatch(1);
        CompletableFuture<Sequenced> stuck = seq.add(entry(0, gate, entered));
        assertTrue(entered.await(10, TimeUnit.SECONDS), "sequencer never picked up the first entry");
        CompletableFuture<Sequenced> queued = seq.add(entry(1, gate));
        Thread.sleep(60); // the queued entry is now older than the bound
        CompletableFuture<Sequenced> refused = seq.add(entry(2, gate));
        assertTrue(refused.isDone(), "a submission behind a stale queue must be refused at once");
        ExecutionException e = assertThrows(ExecutionException.class, refused::get);
        assertTrue(e.getCause() instanceof OverloadedException);
        assertTrue(e.getCause().getMessage().contains("behind"), e.getCause().getMessage());
        gate.countDown();
        assertEquals(0, stuck.get(10, TimeUnit.SECONDS).index());
        assertEquals(1, queued.get(10, TimeUnit.SECONDS).index());
        assertEquals(2, seq.add(entry(2, gate)).get(10, TimeUnit.SECONDS).index(), "service resumes once caught up");
      } finally {
        gate.countDown();
        seq.close();
      }
    }
  }
}
