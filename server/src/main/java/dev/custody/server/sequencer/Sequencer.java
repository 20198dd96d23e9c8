package dev.custody.server.sequencer;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.pushback.UnavailableException;
import dev.custody.server.storage.StorageException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Orders admitted entries and makes them durable: {@link GroupCommitSequencer} commits groups to
 * the local RocksDB; {@code cluster.ReplicatedSequencer} proposes them to a Raft group. Admission,
 * the API and the read path do not tell the two apart.
 */
public interface Sequencer extends AutoCloseable {
  /**
   * Queues an entry. The future completes after the entry and a checkpoint that includes it are
   * durable. It fails with {@link OverloadedException} when the queue is full or has stood behind
   * for a while (a burst that drains is served), with {@link UnavailableException} when a cluster
   * has no leader or cannot reach it, and later with a {@link StorageException} if the commit
   * fails.
   */
  CompletableFuture<Sequenced> add(Admitted entry);

  /**
   * Queues a group of entries to be committed together, in this order, in one commit: each entry's
   * index is above the one before it, and either every entry of the group is logged or none that
   * was new (the whole group fails alike). Entries the log already holds are answered as
   * duplicates, as {@link #add} answers them. A chain of links, each on the one before, is thus
   * logged at once without ever holding a link before the link below it.
   *
   * @return a future per entry, in order; empty when this sequencer cannot promise that for this
   *     group (it does not group, or an entry of it is on its way for another caller, whose fate
   *     the group cannot share): the caller then adds the entries one after another
   */
  default Optional<List<CompletableFuture<Sequenced>>> addInOneCommit(List<Admitted> group) {
    return Optional.empty();
  }

  /**
   * Completes once this node holds every entry the log had committed when it was called: a read
   * barrier, for a node that may lag its cluster (a link's predecessor, just acknowledged by the
   * leader, not yet applied here). At once on a single node, which never lags itself.
   */
  default CompletableFuture<Void> caughtUp() {
    return CompletableFuture.completedFuture(null);
  }

  /**
   * Whether this node can lag the log (a replica of a cluster), so that {@link #caughtUp} is worth
   * waiting for.
   */
  default boolean mayLag() {
    return false;
  }

  /** The latest durable signed checkpoint. Never blocks. */
  SignedCheckpoint head();

  /** Stops taking entries and finishes those already queued. */
  @Override
  void close();
}
