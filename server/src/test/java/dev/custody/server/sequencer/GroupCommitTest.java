package dev.custody.server.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.storage.LogStorage;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group ({@link Sequencer#addInOneCommit}) is one commit, in its order, whole or not at all:
 * larger than a batch, it is still one commit; an entry of it on its way for another caller means
 * no promise; a queue without room for all of it refuses all of it; what the log holds is a
 * duplicate.
 */
class GroupCommitTest {
  @TempDir Path dir;
  private final Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("t/log", new SecureRandom());

  private static Admitted entry(int i) {
    return Admitted.opaque(new byte[] {(byte) (i >> 8), (byte) i, 7, 7});
  }

  private static List<Admitted> entries(int from, int to) {
    List<Admitted> out = new ArrayList<>();
    for (int i = from; i < to; i++) out.add(entry(i));
    return out;
  }

  @Test
  void aGroupLargerThanABatchIsOneCommitInItsOrder() throws Exception {
    List<Integer> batches = new CopyOnWriteArrayList<>();
    try (LogStorage storage = LogStorage.open(dir);
        GroupCommitSequencer seq =
            new GroupCommitSequencer(
                storage, "t/log", List.of(key), 100, 4, (n, t) -> batches.add(n))) {
      seq.add(entry(0)).get(10, TimeUnit.SECONDS);
      List<CompletableFuture<Sequenced>> fs = seq.addInOneCommit(entries(1, 11)).orElseThrow();
      for (int i = 0; i < 10; i++) {
        Sequenced s = fs.get(i).get(10, TimeUnit.SECONDS);
        assertEquals(1 + i, s.index(), "in the group's order, right after one another");
        assertFalse(s.duplicate());
      }
      assertEquals(List.of(1, 10), batches, "one commit for the group of 10, maxBatch 4");
      // Again, with one new entry: the others are the log's duplicates.
      List<Admitted> again = entries(5, 12);
      List<CompletableFuture<Sequenced>> gs = seq.addInOneCommit(again).orElseThrow();
      for (int i = 0; i < 6; i++) {
        assertTrue(gs.get(i).get(10, TimeUnit.SECONDS).duplicate());
        assertEquals(5 + i, gs.get(i).get().index());
      }
      assertEquals(11, gs.get(6).get(10, TimeUnit.SECONDS).index());
    }
  }

  @Test
  void anEntryOnItsWayForAnotherCallerMeansNoPromiseAndNothingQueued() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    CountDownLatch entered = new CountDownLatch(1);
    try (LogStorage storage = LogStorage.open(dir);
        GroupCommitSequencer seq =
            new GroupCommitSequencer(
                storage, "t/log", List.of(key), 100, 100, PushbackTest.holding(gate, entered))) {
      CompletableFuture<Sequenced> held = seq.add(entry(1));
      assertTrue(entered.await(10, TimeUnit.SECONDS));
      // entry(1) is committed but not yet answered: still on its way for its caller.
      assertEquals(Optional.empty(), seq.addInOneCommit(List.of(entry(2), entry(1))));
      gate.countDown();
      assertEquals(0, held.get(10, TimeUnit.SECONDS).index());
      // entry(2) was not left behind as "on its way": it is new when added again.
      Sequenced two = seq.add(entry(2)).get(10, TimeUnit.SECONDS);
      assertFalse(two.duplicate());
      assertEquals(1, two.index());
    }
  }

  @Test
  void aQueueWithoutRoomForTheWholeGroupRefusesAllOfIt() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    CountDownLatch entered = new CountDownLatch(1);
    try (LogStorage storage = LogStorage.open(dir);
        GroupCommitSequencer seq =
            new GroupCommitSequencer(
                storage, "t/log", List.of(key), 2, 1, PushbackTest.holding(gate, entered))) {
      CompletableFuture<Sequenced> held = seq.add(entry(0));
      assertTrue(entered.await(10, TimeUnit.SECONDS));
      List<CompletableFuture<Sequenced>> fs = seq.addInOneCommit(entries(1, 4)).orElseThrow();
      for (CompletableFuture<Sequenced> f : fs) {
        ExecutionException e =
            assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof OverloadedException, String.valueOf(e.getCause()));
      }
      gate.countDown();
      held.get(10, TimeUnit.SECONDS);
      // Nothing of it was logged, and nothing of it is stuck as "on its way".
      assertEquals(1, seq.head().size());
      List<CompletableFuture<Sequenced>> retry = seq.addInOneCommit(entries(1, 3)).orElseThrow();
      assertEquals(1, retry.get(0).get(10, TimeUnit.SECONDS).index());
      assertEquals(2, retry.get(1).get(10, TimeUnit.SECONDS).index());
    }
  }
}
