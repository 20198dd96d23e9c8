package dev.custody.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.Proofs;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The services over an in-process transport: the whole log, its store on disk, and no socket. */
class InProcessTest {
  @TempDir Path dir;

  @Test
  void theServicesRunOverAnyTransport() throws Exception {
    String name = InProcessServerBuilder.generateName();
    try (CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(dir)
                .origin("inprocess.test/log")
                .httpPort(-1)
                .acceptAnyEntry(true)
                .build(),
            (n, t) -> {},
            InProcessServerBuilder.forName(name))) {
      ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
      try {
        var log = TransparencyLogGrpc.newBlockingStub(ch);
        byte[] entry = "no socket".getBytes(StandardCharsets.UTF_8);
        LogEntry e =
            log.submit(SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(entry)).build());
        assertEquals(0, e.getIndex());
        var cp = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance());
        assertEquals(1, cp.getTreeSize());
        var proof =
            log.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(0).build());
        Proofs.verifyInclusion(
            0, 1, Hashes.leafHash(entry), List.of(), cp.getRootHash().toByteArray());
        assertEquals(0, proof.getHashesCount());
        // The same guards as over Netty: an empty entry is refused with the reason.
        StatusRuntimeException bad =
            assertThrows(
                StatusRuntimeException.class,
                () -> log.submit(SubmitRequest.newBuilder().setEntry(ByteString.EMPTY).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
        assertTrue(server.grpcPort() < 0, "no port: nothing listens");
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
