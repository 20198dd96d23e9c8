package dev.custody.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.OpaqueFill;
import dev.custody.server.metrics.ServerMetrics;
import dev.custody.server.read.LogReader;
import dev.custody.server.sequencer.GroupCommitSequencer;
import dev.custody.server.storage.LogStorage;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A proof that needs the disk leaves the calling thread for the disk-reads pool and is answered
 * from there; when that pool refuses more work the call gets RESOURCE_EXHAUSTED, not a hang. Real
 * store, real sequencer, the service called as gRPC would call it.
 */
class DiskReadsTest {
  private static final int TOTAL = 300_000;

  @TempDir Path dir;

  /** What a call answered: one value or one status. */
  private static final class Answer<T> implements StreamObserver<T> {
    final CompletableFuture<T> value = new CompletableFuture<>();
    volatile Status status;

    @Override
    public void onNext(T v) {
      value.complete(v);
    }

    @Override
    public void onError(Throwable t) {
      status = Status.fromThrowable(t);
      value.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {}
  }

  @Test
  void aProofThatNeedsTheDiskIsAnsweredOffTheCallingThreadOrRefusedWhenThePoolIsFull()
      throws Exception {
    Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate("test/log", new SecureRandom());
    try (LogStorage s = LogStorage.open(dir)) {
      OpaqueFill.fill(s, "test/log", key, TOTAL);
    }
    try (LogStorage s =
        LogStorage.open(dir)) { // a cold block cache: the first proofs need the disk
      GroupCommitSequencer seq =
          new GroupCommitSequencer(s, "test/log", List.of(key), 16384, 4096, (n, t) -> {});
      LogReader reader = new LogReader(s);
      List<String> threads = new ArrayList<>();
      ExecutorService pool =
          Executors.newSingleThreadExecutor(r -> new Thread(r, "disk-reads-under-test"));
      ExecutorService recording =
          new AbstractExecutorService() {
            @Override
            public void execute(Runnable r) {
              pool.execute(
                  () -> {
                    synchronized (threads) {
                      threads.add(Thread.currentThread().getName());
                    }
                    r.run();
                  });
            }

            @Override
            public void shutdown() {
              pool.shutdown();
            }

            @Override
            public List<Runnable> shutdownNow() {
              return pool.shutdownNow();
            }

            @Override
            public boolean isShutdown() {
              return pool.isShutdown();
            }

            @Override
            public boolean isTerminated() {
              return pool.isTerminated();
            }

            @Override
            public boolean awaitTermination(long t, TimeUnit u) throws InterruptedException {
              return pool.awaitTermination(t, u);
            }
          };
      TransparencyLogService service =
          new TransparencyLogService(
              null,
              seq,
              null,
              reader,
              () -> null,
              Runnable::run,
              null,
              new ServerMetrics(),
              recording);
      Answer<InclusionProof> first = new Answer<>();
      service.getInclusionProof(
          GetInclusionProofRequest.newBuilder().setIndex(123_457).setTreeSize(TOTAL).build(),
          first);
      InclusionProof p = first.value.get(30, TimeUnit.SECONDS);
      assertEquals(TOTAL, p.getTreeSize());
      assertEquals(reader.inclusion(123_457, TOTAL).size(), p.getHashesCount());
      assertEquals(List.of("disk-reads-under-test"), threads, "answered on the disk-reads thread");

      // The same proof again: its reads are in memory now, so it is answered on the calling thread.
      Answer<InclusionProof> again = new Answer<>();
      service.getInclusionProof(
          GetInclusionProofRequest.newBuilder().setIndex(123_457).setTreeSize(TOTAL).build(),
          again);
      assertNotNull(again.value.getNow(null), "answered at once, from memory");
      assertEquals(1, threads.size());

      // A pool that refuses: a proof that needs the disk is RESOURCE_EXHAUSTED, at once.
      pool.shutdown();
      Answer<InclusionProof> refused = new Answer<>();
      service.getInclusionProof(
          GetInclusionProofRequest.newBuilder().setIndex(7).setTreeSize(TOTAL).build(), refused);
      assertTrue(refused.value.isCompletedExceptionally(), "refused at once, not queued");
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.status.getCode());
      assertTrue(refused.status.getDescription().contains("disk"), refused.status.getDescription());
      seq.close();
    }
  }
}
