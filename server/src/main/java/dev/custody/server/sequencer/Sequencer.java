package dev.custody.server.sequencer;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.server.admission.Admitted;
import java.util.concurrent.CompletableFuture;

/**
 * Orders admitted entries and makes them durable. The one implementation today commits groups
 * to local RocksDB; a replicated log can stand behind this interface without admission, the
 * API or the read path noticing.
 */
public interface Sequencer extends AutoCloseable {
  /**
   * Queues an entry. The future completes after the entry and a checkpoint that includes it are
   * durable. It fails with {@link OverloadedException} when the queue is full or has stood behind
   * for a while (a burst that drains is served), and later
   * with a {@link dev.custody.server.storage.StorageException} if the commit fails.
   */
  CompletableFuture<Sequenced> add(Admitted entry);

  /** The latest durable signed checkpoint. Never blocks. */
  SignedCheckpoint head();

  /** Stops taking entries and finishes those already queued. */
  @Override void close();
}
