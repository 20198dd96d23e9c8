package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.Checkpoint;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each malformed request gets the right status and a readable message, and changes nothing. */
class BadInputTest {
  @TempDir static Path dir;
  static CustodyServer server;
  static ManagedChannel channel;
  static TransparencyLogGrpc.TransparencyLogBlockingStub log;

  @BeforeAll
  static void start() throws Exception {
    server = CustodyServer.start(TestLogs.config(dir), (n, t) -> { });
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    log = TransparencyLogGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    channel.shutdownNow();
    server.close();
  }

  @Test
  void anEmptyLogHasNothingToProve(@TempDir Path emptyDir) throws Exception {
    try (CustodyServer empty = CustodyServer.start(TestLogs.config(emptyDir), (n, t) -> { })) {
      ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", empty.grpcPort()).usePlaintext().build();
      try {
        var stub = TransparencyLogGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
        assertEquals(0, stub.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize());
        expect(Status.Code.OUT_OF_RANGE, "empty",
            () -> stub.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(0).build()));
        expect(Status.Code.OUT_OF_RANGE, "not below the tree size",
            () -> stub.getEntries(GetEntriesRequest.newBuilder().setStart(0).setEnd(1).build()).hasNext());
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void everyBadRequestIsRefusedAndNothingIsStored() {
    for (int i = 0; i < 5; i++) {
      log.submit(SubmitRequest.newBuilder().setEntry(ByteString.copyFromUtf8("entry " + i)).build());
    }
    Checkpoint before = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance());
    long size = before.getTreeSize();

    expect(Status.Code.INVALID_ARGUMENT, "empty", () -> log.submit(SubmitRequest.getDefaultInstance()));
    expect(Status.Code.INVALID_ARGUMENT, "at most 65535", () -> log.submit(SubmitRequest.newBuilder()
        .setEntry(ByteString.copyFrom(new byte[65_536])).build()));
    expect(Status.Code.RESOURCE_EXHAUSTED, "", () -> log.submit(SubmitRequest.newBuilder()
        .setEntry(ByteString.copyFrom(new byte[CustodyServer.MAX_INBOUND_MESSAGE_BYTES + 1])).build()));

    expect(Status.Code.INVALID_ARGUMENT, "either index or leaf_hash",
        () -> log.getInclusionProof(GetInclusionProofRequest.getDefaultInstance()));
    expect(Status.Code.INVALID_ARGUMENT, "negative",
        () -> log.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(-1).build()));
    expect(Status.Code.OUT_OF_RANGE, "not in a tree of size",
        () -> log.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(size).build()));
    expect(Status.Code.OUT_OF_RANGE, "not in a tree of size",
        () -> log.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(3).setTreeSize(2).build()));
    expect(Status.Code.OUT_OF_RANGE, "beyond the log's size",
        () -> log.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(0).setTreeSize(size + 1).build()));
    expect(Status.Code.INVALID_ARGUMENT, "negative",
        () -> log.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(0).setTreeSize(-5).build()));
    expect(Status.Code.INVALID_ARGUMENT, "32 bytes",
        () -> log.getInclusionProof(GetInclusionProofRequest.newBuilder().setLeafHash(ByteString.copyFrom(new byte[31])).build()));
    expect(Status.Code.NOT_FOUND, "no entry",
        () -> log.getInclusionProof(GetInclusionProofRequest.newBuilder().setLeafHash(ByteString.copyFrom(new byte[32])).build()));
    expect(Status.Code.OUT_OF_RANGE, "beyond the log's size",
        () -> log.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(0).setTreeSize(Long.MAX_VALUE).build()));

    expect(Status.Code.INVALID_ARGUMENT, "at least 1",
        () -> log.getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFromSize(0).setToSize(2).build()));
    expect(Status.Code.INVALID_ARGUMENT, "larger than",
        () -> log.getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFromSize(4).setToSize(2).build()));
    expect(Status.Code.OUT_OF_RANGE, "beyond the log's size",
        () -> log.getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFromSize(1).setToSize(size + 1).build()));
    expect(Status.Code.INVALID_ARGUMENT, "negative",
        () -> log.getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFromSize(1).setToSize(-1).build()));
    expect(Status.Code.INVALID_ARGUMENT, "larger than",
        () -> log.getConsistencyProof(GetConsistencyProofRequest.newBuilder().setFromSize(size + 1).build()));

    expect(Status.Code.INVALID_ARGUMENT, "negative",
        () -> log.getEntries(GetEntriesRequest.newBuilder().setStart(-1).setEnd(2).build()).hasNext());
    expect(Status.Code.INVALID_ARGUMENT, "exclusive",
        () -> log.getEntries(GetEntriesRequest.newBuilder().setStart(2).setEnd(2).build()).hasNext());
    expect(Status.Code.OUT_OF_RANGE, "not below the tree size",
        () -> log.getEntries(GetEntriesRequest.newBuilder().setStart(size).setEnd(size + 10).build()).hasNext());
    expect(Status.Code.DEADLINE_EXCEEDED, "",
        () -> log.withDeadlineAfter(-1, TimeUnit.SECONDS).submit(SubmitRequest.newBuilder()
            .setEntry(ByteString.copyFromUtf8("too late")).build()));

    // An end beyond the log is clamped: the entries that exist come back, in order.
    var it = log.getEntries(GetEntriesRequest.newBuilder().setStart(size - 2).setEnd(Long.MAX_VALUE).build());
    int n = 0;
    while (it.hasNext()) {
      assertEquals(size - 2 + n, it.next().getIndex());
      n++;
    }
    assertEquals(2, n);

    assertEquals(before, log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()), "a bad request changed the log");
  }

  private static void expect(Status.Code code, String messagePart, Supplier<?> call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get);
    assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
    String desc = String.valueOf(e.getStatus().getDescription());
    assertTrue(desc.contains(messagePart), "message \"" + desc + "\" should mention \"" + messagePart + "\"");
  }
}
