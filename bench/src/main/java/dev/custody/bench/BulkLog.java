package dev.custody.bench;

import dev.custody.server.LogIdentity;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.keys.LogKeys;
import dev.custody.server.sequencer.GroupCommitSequencer;
import dev.custody.server.sequencer.Sequenced;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A log laid out exactly as the server lays out its data directory ({@code db/} and {@code
 * log.key}), filled in-process as fast as the sequencer and storage allow, so that `proofs` and
 * `restart` can then run a real server on what `scale` built.
 */
public final class BulkLog implements AutoCloseable {
  static final String ORIGIN = "bench.custody.dev/scale";

  private final OpaqueAdmission admission = new OpaqueAdmission();
  public final LogStorage storage;
  final GroupCommitSequencer sequencer;

  private BulkLog(LogStorage storage, GroupCommitSequencer sequencer) {
    this.storage = storage;
    this.sequencer = sequencer;
  }

  public static BulkLog open(Path dataDir) throws IOException {
    LogStorage storage = LogStorage.open(dataDir.resolve("db"));
    try {
      LogIdentity id =
          LogIdentity.establish(storage, Optional.of(ORIGIN), LogKeys.DEFAULT, dataDir);
      return new BulkLog(
          storage,
          new GroupCommitSequencer(storage, id.origin(), id.signers(), 16384, 4096, (n, t) -> {}));
    } catch (IOException | RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  public long size() {
    return sequencer.head().size();
  }

  /** Appends distinct opaque entries until the log holds {@code target}; entry i starts with i. */
  public void fillTo(long target, int entryBytes) throws Exception {
    Deque<CompletableFuture<Sequenced>> window = new ArrayDeque<>();
    for (long i = size(); i < target; i++) {
      byte[] e = new byte[entryBytes];
      ByteBuffer.wrap(e).putLong(i);
      window.add(sequencer.add(admission.admit(e)));
      // Enough in flight to fill the largest batches, few enough for the queue.
      if (window.size() >= 12_000) window.poll().get();
    }
    for (CompletableFuture<Sequenced> f : window) f.get();
  }

  @Override
  public void close() {
    sequencer.close();
    storage.close();
  }
}
