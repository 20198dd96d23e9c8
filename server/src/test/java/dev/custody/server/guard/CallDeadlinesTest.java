package dev.custody.server.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A call that outlives its deadline must not corrupt a response: the deadline sweeper closes calls
 * that workers may be writing to. A ServerCall is not thread-safe; the wrapper must never let a
 * close and a write overlap, and must drop what is written after the close.
 */
class CallDeadlinesTest {
  /** A call that notices two threads inside it at once, and anything sent after its close. */
  static final class Watchful extends ServerCall<String, String> {
    final AtomicInteger inside = new AtomicInteger();
    final AtomicBoolean overlapped = new AtomicBoolean();
    final AtomicBoolean afterClose = new AtomicBoolean();
    final AtomicInteger closes = new AtomicInteger();
    volatile boolean closed;

    private void enter() {
      if (inside.incrementAndGet() > 1) overlapped.set(true);
      Thread.onSpinWait();
    }

    private void exit() {
      inside.decrementAndGet();
    }

    @Override
    public void request(int n) {}

    @Override
    public void sendHeaders(Metadata headers) {
      enter();
      exit();
    }

    @Override
    public void sendMessage(String message) {
      enter();
      if (closed) afterClose.set(true);
      for (int i = 0; i < 200; i++) Thread.onSpinWait();
      exit();
    }

    @Override
    public void close(Status status, Metadata trailers) {
      enter();
      if (closed) afterClose.set(true);
      closed = true;
      closes.incrementAndGet();
      exit();
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public MethodDescriptor<String, String> getMethodDescriptor() {
      return null;
    }

    @Override
    public Attributes getAttributes() {
      return Attributes.EMPTY;
    }
  }

  @Test
  void aCloseFromTheSweeperNeverOverlapsAWriteAndWritesAfterItAreDropped() throws Exception {
    ExecutorService writers = Executors.newFixedThreadPool(4);
    for (int round = 0; round < 200; round++) {
      Watchful raw = new Watchful();
      CallDeadlines.Serialized<String, String> call = new CallDeadlines.Serialized<>(raw);
      CountDownLatch go = new CountDownLatch(1);
      CountDownLatch done = new CountDownLatch(4);
      for (int w = 0; w < 4; w++) {
        writers.execute(
            () -> {
              try {
                go.await();
                for (int i = 0; i < 50; i++) {
                  if (call.isReady() || i % 2 == 0) call.sendMessage("m");
                }
                call.close(
                    Status.OK,
                    new Metadata()); // the application finishing, perhaps after the sweeper
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } finally {
                done.countDown();
              }
            });
      }
      go.countDown();
      call.closeOnce(Status.DEADLINE_EXCEEDED); // the sweeper, at the same moment
      done.await(10, TimeUnit.SECONDS);
      assertFalse(raw.overlapped.get(), "a close overlapped a write in round " + round);
      assertFalse(
          raw.afterClose.get(), "something reached the call after its close in round " + round);
      assertEquals(1, raw.closes.get(), "closed exactly once");
    }
    writers.shutdownNow();
  }
}
