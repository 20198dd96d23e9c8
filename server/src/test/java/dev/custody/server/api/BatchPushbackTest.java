package dev.custody.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.api.v1.SubmitBatchResponse;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.OpaqueFill;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.read.LogReader;
import dev.custody.server.sequencer.ReadOnlySequencer;
import dev.custody.server.storage.LogStorage;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pushback refuses a whole batch, so that the client's retry policy sends it again: a log that
 * cannot write answers UNAVAILABLE for the call, not a refusal per entry a client would drop.
 */
class BatchPushbackTest {
  @TempDir Path dir;

  @Test
  void aLogThatCannotWriteRefusesTheWholeCall() throws Exception {
    try (LogStorage storage = LogStorage.open(dir)) {
      OpaqueFill.fill(
          storage,
          "pushback.test/log",
          Ed25519NoteKeys.generate("pushback.test/log", new SecureRandom()),
          3); // a read-only server serves a log that exists
      List<String> counted = new ArrayList<>();
      BatchSubmission batches =
          new BatchSubmission(
              new OpaqueAdmission(),
              new ReadOnlySequencer(storage, "a test"),
              null, // opaque admission is cheap: no check pool
              new LogReader(storage),
              Runnable::run,
              counted::add);
      CompletableFuture<SubmitBatchResponse> answer = new CompletableFuture<>();
      batches.submit(
          SubmitBatchRequest.newBuilder()
              .addEntries(ByteString.copyFromUtf8("one"))
              .addEntries(ByteString.copyFromUtf8("two"))
              .build(),
          new StreamObserver<>() {
            @Override
            public void onNext(SubmitBatchResponse r) {
              answer.complete(r);
            }

            @Override
            public void onError(Throwable t) {
              answer.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {}
          });
      Throwable refused = null;
      try {
        answer.get(10, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        refused = e.getCause();
      }
      assertEquals(Status.Code.UNAVAILABLE, Status.fromThrowable(refused).getCode());
      assertTrue(
          Status.fromThrowable(refused).getDescription().contains("only serves reads"),
          String.valueOf(refused));
      assertTrue(counted.isEmpty(), "no entry is counted as answered: " + counted);
      assertNull(storage.leaf(3).orElse(null), "nothing was written");
    }
  }
}
