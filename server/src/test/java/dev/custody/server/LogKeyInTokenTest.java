package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.testing.SoftHsm;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log's own key in a PKCS#11 token (SoftHSM): checkpoints signed there verify under the
 * verifier key the log publishes; the same key opens the log again; another key, or a key that is
 * not Ed25519, is refused with the reason.
 */
class LogKeyInTokenTest {
  @TempDir Path dir;

  static CustodyServer.Config config(Path data, String keyUri) {
    return new CustodyServer.Config(data, Optional.of("token.test/log"), Optional.empty(), "127.0.0.1", 0, -1,
        Optional.empty(), false, 1024, 256, List.of(), 0, TestLogs.PATIENT, Optional.empty(), Optional.empty(),
        Optional.of(keyUri));
  }

  @Test
  void checkpointsAreSignedInTheTokenAndTheKeyIsTheLogsForGood() throws Exception {
    SoftHsm.freshTokens("log-token", "other-token");
    String uri = SoftHsm.uri("log-token", "ed", SoftHsm.PIN);
    String vkey;
    try (CustodyServer server = CustodyServer.start(config(dir.resolve("data"), uri), (n, t) -> { })) {
      ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        var log = TransparencyLogGrpc.newBlockingStub(ch);
        log.submit(SubmitRequest.newBuilder().setEntry(TestLinks.layerZero(1)).build());
        LogInfo info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
        vkey = info.getVerifierKey();
        CheckpointVerifier v = new CheckpointVerifier("token.test/log", Ed25519NoteKeys.parseVerifierKey(vkey));
        assertEquals(1, v.verify(log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote()).size());
      } finally {
        ch.shutdownNow();
      }
    }
    try (CustodyServer again = CustodyServer.start(config(dir.resolve("data"), uri), (n, t) -> { })) {
      assertEquals(vkey, again.identity().verifierKey(), "the same key opens the log again");
    }
    IOException other = assertThrows(IOException.class, () -> CustodyServer.start(
        config(dir.resolve("data"), SoftHsm.uri("other-token", "ed", SoftHsm.PIN)), (n, t) -> { }));
    assertTrue(other.getMessage().contains("is not the key this log was started with"), other.getMessage());
    assertTrue(!other.getMessage().contains("pin-value=" + SoftHsm.PIN), "the PIN is never in a message");
    IOException ecdsa = assertThrows(IOException.class, () -> CustodyServer.start(
        config(dir.resolve("fresh"), SoftHsm.uri("log-token", "p256", SoftHsm.PIN)), (n, t) -> { }));
    assertTrue(ecdsa.getMessage().contains("must be Ed25519"), ecdsa.getMessage());
  }
}
