package dev.custody.server.sequencer;

import dev.custody.server.storage.LogStorage;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongFunction;

/**
 * An entry on its way through a sequencer, from its queue to its answer.
 *
 * @param key its dedup key, under which a sequencer keeps it while it is in flight
 * @param queuedAt {@link System#nanoTime} when it was queued
 * @param group shared (by identity) by the entries of one {@link Sequencer#addInOneCommit}; null
 *     for an entry added alone
 */
public record Pending(
    Admitted entry,
    ByteBuffer key,
    CompletableFuture<Sequenced> done,
    long queuedAt,
    Object group) {

  /** An entry added alone. */
  public static Pending alone(Admitted entry, long now) {
    return new Pending(
        entry, ByteBuffer.wrap(entry.dedupKey()), new CompletableFuture<>(), now, null);
  }

  /** This entry's answer, for another submission of the same entry: marked a duplicate. */
  public CompletableFuture<Sequenced> asDuplicate() {
    return done.thenApply(
        s -> new Sequenced(s.index(), s.leaf(), s.leafHash(), true, s.checkpoint()));
  }

  /**
   * The first half of {@link Sequencer#addInOneCommit}, the same in every sequencer: takes the
   * group's entries into {@code inFlight}, answers those {@code storage} holds already (found in
   * one batched read) with {@code stored}, and an entry the group holds twice as a duplicate of its
   * first; adds one answer per entry to {@code answers}, in order.
   *
   * @return the entries to queue, next to each other; empty, with nothing left in {@code inFlight},
   *     when an entry is on its way for another caller, whose fate the group cannot share
   */
  public static Optional<List<Pending>> claimGroup(
      List<Admitted> entries,
      long now,
      Map<ByteBuffer, Pending> inFlight,
      LogStorage storage,
      LongFunction<CompletableFuture<Sequenced>> stored,
      List<CompletableFuture<Sequenced>> answers) {
    Object group = new Object();
    List<Pending> mine = new ArrayList<>();
    try {
      for (Admitted a : entries) {
        Pending p =
            new Pending(a, ByteBuffer.wrap(a.dedupKey()), new CompletableFuture<>(), now, group);
        Pending earlier = inFlight.putIfAbsent(p.key, p);
        if (earlier != null && earlier.group == group) { // the same entry twice in the group
          answers.add(earlier.asDuplicate());
          continue;
        }
        if (earlier != null) {
          for (Pending q : mine) inFlight.remove(q.key, q);
          answers.clear();
          return Optional.empty();
        }
        mine.add(p);
        answers.add(p.done);
      }
      long[] at = Admitted.indicesIn(storage, mine.stream().map(Pending::entry).toList());
      List<Pending> fresh = new ArrayList<>(mine.size());
      for (int k = 0; k < at.length; k++) {
        Pending p = mine.get(k);
        if (at[k] < 0) {
          fresh.add(p);
          continue;
        }
        inFlight.remove(p.key, p);
        stored
            .apply(at[k])
            .whenComplete(
                (s, err) -> {
                  if (err != null) p.done.completeExceptionally(err);
                  else p.done.complete(s);
                });
      }
      return Optional.of(fresh);
    } catch (RuntimeException e) {
      for (Pending q : mine) inFlight.remove(q.key, q);
      throw e;
    }
  }
}
