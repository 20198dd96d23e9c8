package dev.custody.server.sequencer;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.note.NoteSigner;
import dev.custody.server.guard.StandingQueue;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.pushback.ShuttingDownException;
import dev.custody.server.pushback.WriteRefusedException;
import dev.custody.server.storage.AppendBatch;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Dedup runs on the callers' threads, before the queue: an entry already in flight joins it, an
 * entry already stored is answered from storage, and only new entries reach the queue. Then one
 * thread takes whatever is queued (up to {@code maxBatch}), assigns indices and the log timestamp,
 * integrates the leaves into the tree edge, signs the checkpoint for the new size and writes all of
 * it in one synced WriteBatch. Only then is anyone told. Under load batches grow, so one fsync
 * serves many entries. A full queue refuses at once, and so does a queue that has stood above its
 * target wait for a whole interval ({@link StandingQueue}); a burst that drains is served.
 *
 * <p>A checkpoint is signed before its batch commits and never handed out unless the commit
 * succeeded, so no two different roots for one size ever leave the process.
 */
public final class GroupCommitSequencer implements Sequencer {
  private static final Logger LOG = Logger.getLogger(GroupCommitSequencer.class.getName());

  /**
   * Held while entries are put in the queue and while the sequencer takes them out, so that a
   * group's entries lie next to each other in the queue and are taken whole.
   */
  private final Object queueing = new Object();

  private final LogStorage storage;
  private final int maxBatch;
  private final BlockingQueue<Pending> queue;

  /**
   * Entries queued or being committed, by dedup key. An entry leaves it only after its batch is
   * committed and the head published, so a caller that misses here and then looks in storage cannot
   * miss an entry in between.
   */
  private final Map<ByteBuffer, Pending> inFlight = new ConcurrentHashMap<>();

  private final Thread thread;
  private final BatchListener listener;
  private volatile boolean closing;
  private volatile SignedCheckpoint head;
  private final StandingQueue standing;
  private final Integrator integrator;
  private TreeEdge edge; // sequencer thread only, after construction
  private AppendBatch attempt; // the batch being committed (sequencer thread)
  private final List<AppendBatch> ghosts =
      new ArrayList<>(); // failed batches the store does not show

  /** Why the store refuses writes, while it does; null when writing works. */
  private volatile String writeFailure;

  private volatile long nextWriteAttempt; // System.nanoTime() before which submissions fail at once
  private static final long WRITE_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
  private long lastTimestamp;

  /**
   * Opens the sequencer on a store, resuming from its latest checkpoint and compact range (O(log n)
   * reads), or signing the empty tree's checkpoint for a new log.
   *
   * @param queueCapacity the hard cap on queued entries; beyond it submissions are refused at once
   * @param pushback when a queue that stays behind refuses arrivals ({@link StandingQueue})
   * @param listener told of every committed batch (for metrics and benchmarks)
   */
  public GroupCommitSequencer(
      LogStorage storage,
      String origin,
      List<NoteSigner> signers,
      int queueCapacity,
      int maxBatch,
      StandingQueue.Rule pushback,
      BatchListener listener) {
    this.standing = new StandingQueue(pushback);
    this.integrator = new Integrator(origin, signers);
    this.storage = storage;
    this.maxBatch = maxBatch;
    this.queue = new ArrayBlockingQueue<>(queueCapacity);
    this.listener = listener;
    recover();
    this.thread = new Thread(this::run, "custody-sequencer");
    thread.start();
  }

  /** With the default pushback rule. */
  public GroupCommitSequencer(
      LogStorage storage,
      String origin,
      List<NoteSigner> signers,
      int queueCapacity,
      int maxBatch,
      BatchListener listener) {
    this(storage, origin, signers, queueCapacity, maxBatch, StandingQueue.Rule.DEFAULT, listener);
  }

  private void recover() {
    Integrator.Resumed r = integrator.resume(storage);
    edge = r.edge();
    head = r.head();
  }

  /** A checkpoint as the log stored it; unreadable means a damaged store. */
  public static SignedCheckpoint parseStored(String note) {
    return Integrator.parseStored(note);
  }

  @Override
  public CompletableFuture<Sequenced> add(Admitted entry) {
    long now = System.nanoTime();
    // Shutting down, a disk refusing writes (one attempt a second finds out when it is back), or a
    // queue behind for a while, not just a burst: refusing keeps the latency of what is admitted.
    RuntimeException refused = refusalNow(now);
    if (refused != null) return CompletableFuture.failedFuture(refused);
    Pending mine = Pending.alone(entry, now);
    CompletableFuture<Sequenced> f = mine.done();
    Pending earlier = inFlight.putIfAbsent(mine.key(), mine);
    if (earlier != null) return earlier.asDuplicate();
    try {
      Integrator.Placed stored = stored(entry);
      if (stored != null) {
        inFlight.remove(mine.key(), mine);
        f.complete(new Sequenced(stored.index(), stored.leaf(), stored.leafHash(), true, head));
      } else if (!offer(mine)) {
        inFlight.remove(mine.key(), mine);
        f.completeExceptionally(
            new OverloadedException(
                "the log is busy: "
                    + queue.size()
                    + " submissions are already queued; retry with backoff"));
      }
    } catch (RuntimeException e) {
      inFlight.remove(mine.key(), mine);
      f.completeExceptionally(e);
    }
    return f;
  }

  private boolean offer(Pending p) {
    synchronized (queueing) {
      return queue.offer(p);
    }
  }

  /** Why an entry is refused before it is queued now, or null: shutting down, disk, pushback. */
  private RuntimeException refusalNow(long now) {
    if (closing) return new ShuttingDownException("the log is shutting down");
    String failure = writeFailure;
    if (failure != null && System.nanoTime() < nextWriteAttempt) {
      return new WriteRefusedException(
          "the log cannot write to its storage (" + failure + "); reads still work; retry later",
          null);
    }
    Pending oldest = queue.peek();
    if (!standing.admits(oldest == null ? StandingQueue.EMPTY : now - oldest.queuedAt())) {
      return new OverloadedException(
          "the log is behind: its queue has stayed above "
              + standing.targetMillis()
              + " ms of waiting; retry with backoff");
    }
    return null;
  }

  @Override
  public Optional<List<CompletableFuture<Sequenced>>> addInOneCommit(List<Admitted> entries) {
    long now = System.nanoTime();
    RuntimeException refused = refusalNow(now);
    List<CompletableFuture<Sequenced>> out = new ArrayList<>(entries.size());
    if (refused != null) {
      for (int i = 0; i < entries.size(); i++) out.add(CompletableFuture.failedFuture(refused));
      return Optional.of(out);
    }
    Optional<List<Pending>> claimed =
        Pending.claimGroup(entries, now, inFlight, storage, this::storedAnswer, out);
    if (claimed.isEmpty()) return Optional.empty();
    List<Pending> mine = claimed.get();
    // The group's own pending entries now have only the queue to enter: next to each other, all
    // or none (every offer holds the lock, and only the sequencer takes from the queue).
    synchronized (queueing) {
      if (queue.remainingCapacity() >= mine.size()) {
        for (Pending q : mine) queue.add(q);
        return Optional.of(out);
      }
    }
    OverloadedException full =
        new OverloadedException(
            "the log is busy: "
                + queue.size()
                + " submissions are already queued; retry with backoff");
    for (Pending q : mine) {
      inFlight.remove(q.key(), q);
      q.done().completeExceptionally(full);
    }
    return Optional.of(out);
  }

  @Override
  public SignedCheckpoint head() {
    return head;
  }

  @Override
  public void close() {
    closing = true;
    thread.interrupt();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    List<Pending> batch = new ArrayList<>(maxBatch);
    while (true) {
      batch.clear();
      try {
        Pending first = closing ? queue.poll() : queue.take();
        if (first == null) break; // closing and drained
        batch.add(first);
      } catch (InterruptedException e) {
        if (closing) continue; // drain what is queued, then stop
        Thread.currentThread().interrupt();
        break;
      }
      synchronized (queueing) {
        queue.drainTo(batch, maxBatch - 1);
        // A group is committed whole: past maxBatch if it must (a group is at most one request).
        Object last = batch.get(batch.size() - 1).group();
        for (Pending p; last != null && (p = queue.peek()) != null && p.group() == last; )
          batch.add(queue.poll());
      }
      refuseStale(batch);
      if (batch.isEmpty()) continue;
      try {
        process(batch);
      } catch (RuntimeException e) {
        if (writeFailure == null) {
          LOG.log(
              Level.SEVERE,
              "committing a batch of " + batch.size() + " failed; nothing in it was acknowledged",
              e);
        } else { // the same trouble again: one line, not a stack trace a second
          LOG.warning("committing a batch of " + batch.size() + " failed again: " + e.getMessage());
        }
        writeFailure = String.valueOf(e.getMessage());
        nextWriteAttempt = System.nanoTime() + WRITE_RETRY_NANOS;
        WriteRefusedException refused =
            new WriteRefusedException(String.valueOf(e.getMessage()), e);
        for (Pending p : batch) {
          inFlight.remove(p.key(), p);
          p.done().completeExceptionally(refused);
        }
        AppendBatch failed = attempt;
        attempt = null;
        resync();
        // A failed commit may yet have reached the WAL; if the store does not show it, the next
        // commit deletes its
        // keys. If the store does show it, it landed after all, undoing the earlier ghosts it
        // carried: forget them,
        // for their indices may now hold entries of that batch.
        if (failed != null) {
          if (failed.checkpointSize() != edge.size()) {
            ghosts.add(failed);
          } else {
            ghosts.clear();
          }
        }
      }
    }
    for (Pending p; (p = queue.poll()) != null; ) {
      inFlight.remove(p.key(), p);
      p.done().completeExceptionally(new ShuttingDownException("the log is shutting down"));
    }
  }

  /**
   * Takes out of the batch what the standing-queue rule refuses as it leaves the queue; a group
   * with one entry refused is refused whole.
   */
  private void refuseStale(List<Pending> batch) {
    standing.leaveInGroups(
        batch,
        Pending::queuedAt,
        Pending::group,
        System.nanoTime(),
        (p, why) -> {
          inFlight.remove(p.key(), p);
          p.done().completeExceptionally(new OverloadedException(why));
        });
  }

  /**
   * After a failed commit the store may or may not hold the batch; reread its latest state rather
   * than guess, so the next batch continues from what is really durable.
   */
  private void resync() {
    try {
      recover();
    } catch (RuntimeException e) {
      LOG.log(
          Level.SEVERE,
          "cannot reread the store after a failed commit; will retry with the next batch",
          e);
    }
  }

  private void process(List<Pending> batch) {
    long ts = Math.max(lastTimestamp, System.currentTimeMillis());
    // Every queued entry is new: add() let only one entry per key into the queue.
    List<Admitted> entries = new ArrayList<>(batch.size());
    for (Pending p : batch) entries.add(p.entry());
    Integrator.Result r = integrator.integrate(edge, entries, ts);
    AppendBatch out = r.batch();
    TreeEdge nextEdge = r.edge();
    SignedCheckpoint nextHead = r.head();
    List<Integrator.Placed> placed = r.placed();
    for (AppendBatch g : ghosts) out.undo(g);
    attempt = out;
    long t0 = System.nanoTime();
    storage.commit(out);
    long commitNanos = System.nanoTime() - t0;
    attempt = null;
    ghosts.clear();
    if (writeFailure != null) {
      LOG.info("the log's storage takes writes again");
      writeFailure = null;
    }
    edge = nextEdge;
    head = nextHead;
    lastTimestamp = ts;
    listener.committed(placed.size(), commitNanos);
    for (int i = 0; i < batch.size(); i++) {
      Pending p = batch.get(i);
      Integrator.Placed e = placed.get(i);
      inFlight.remove(p.key(), p);
      p.done().complete(new Sequenced(e.index(), e.leaf(), e.leafHash(), false, nextHead));
    }
  }

  /** The answer for an entry the log holds at {@code index}: a duplicate, with the head. */
  private CompletableFuture<Sequenced> storedAnswer(long index) {
    Integrator.Placed at = placed(index);
    return CompletableFuture.completedFuture(
        new Sequenced(at.index(), at.leaf(), at.leafHash(), true, head));
  }

  private Integrator.Placed stored(Admitted a) {
    OptionalLong i = storage.indexOfDedupKey(a.dedupKey(), a.keyedByLeafHash());
    return i.isEmpty() ? null : placed(i.getAsLong());
  }

  /** The entry the log holds at {@code index}. */
  private Integrator.Placed placed(long index) {
    byte[] leaf =
        storage
            .leaf(index)
            .orElseThrow(
                () -> new StorageException("entry index " + index + " has no leaf in the store"));
    return new Integrator.Placed(index, leaf, Hashes.leafHash(leaf));
  }
}
