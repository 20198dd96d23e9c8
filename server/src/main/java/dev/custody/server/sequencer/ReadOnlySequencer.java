package dev.custody.server.sequencer;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.server.pushback.WriteRefusedException;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import java.util.concurrent.CompletableFuture;

/**
 * A log that can only be read (its store on a read-only file system, or a frozen copy): the head is
 * the latest stored checkpoint and every submission fails closed with the reason.
 */
public final class ReadOnlySequencer implements Sequencer {
  private final SignedCheckpoint head;
  private final String reason;

  public ReadOnlySequencer(LogStorage storage, String reason) {
    this.head =
        GroupCommitSequencer.parseStored(
            storage
                .latestCheckpoint()
                .orElseThrow(
                    () ->
                        new StorageException(
                            "a read-only store must hold a log; this one is empty")));
    this.reason = reason;
  }

  @Override
  public CompletableFuture<Sequenced> add(Admitted entry) {
    return CompletableFuture.failedFuture(
        new WriteRefusedException("this server only serves reads: " + reason, null));
  }

  @Override
  public SignedCheckpoint head() {
    return head;
  }

  @Override
  public void close() {}
}
