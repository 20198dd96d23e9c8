package dev.custody.server.api;

import dev.custody.api.v1.LogEntry;
import dev.custody.merkle.Hashes;
import dev.custody.server.read.LogReader;
import dev.custody.server.storage.StorageException;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * Streams log entries only while the client's flow-control window is open, so a slow or stalled
 * reader costs the server no memory: each entry is read from storage when it can be sent.
 * GetEntries and FindLinks both answer through it.
 */
final class EntryStream {
  /** The indices to send, in order. */
  interface Positions {
    int count();

    long at(int k);
  }

  static Positions range(long start, long end) {
    return new Positions() {
      @Override
      public int count() {
        return (int) (end - start);
      }

      @Override
      public long at(int k) {
        return start + k;
      }
    };
  }

  static Positions of(List<Long> indices) {
    return new Positions() {
      @Override
      public int count() {
        return indices.size();
      }

      @Override
      public long at(int k) {
        return indices.get(k);
      }
    };
  }

  private final ServerCallStreamObserver<LogEntry> out;
  private final LogReader reader;
  private final Executor worker;
  private final Positions positions;
  private int next;
  private boolean finished;

  EntryStream(
      ServerCallStreamObserver<LogEntry> out,
      LogReader reader,
      Executor worker,
      Positions positions) {
    this.out = out;
    this.reader = reader;
    this.worker = worker;
    this.positions = positions;
  }

  void begin() {
    out.setOnReadyHandler(() -> worker.execute(this::drain));
    out.setOnCancelHandler(() -> {});
    worker.execute(this::drain);
  }

  private synchronized void drain() {
    try {
      while (!finished && !out.isCancelled() && out.isReady() && next < positions.count()) {
        long i = positions.at(next);
        byte[] leaf =
            reader.leaf(i).orElseThrow(() -> new StorageException("leaf " + i + " is missing"));
        out.onNext(TransparencyLogService.entry(i, leaf, Hashes.leafHash(leaf)).build());
        next++;
      }
      if (!finished && next == positions.count() && !out.isCancelled()) {
        finished = true;
        out.onCompleted();
      }
    } catch (RuntimeException e) {
      if (!finished) {
        finished = true;
        Statuses.fail(out, e);
      }
    }
  }
}
