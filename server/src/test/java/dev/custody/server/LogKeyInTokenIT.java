package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.keys.LogKeys;
import dev.custody.testing.SoftHsm;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log's own key in a PKCS#11 token (SoftHSM): checkpoints signed there verify under the
 * verifier key the log publishes; the same key opens the log again; another key, or a key that is
 * not Ed25519, is refused with the reason.
 */
class LogKeyInTokenIT {
  @TempDir Path dir;

  /**
   * Once for the class: the module stays loaded in this JVM, and wiping its tokens under it breaks
   * it.
   */
  @BeforeAll
  static void tokens() throws Exception {
    SoftHsm.freshTokens("log-token", "other-token", "move-token");
  }

  static ServerConfig config(Path data, String keyUri) {
    return ServerConfig.builder(data)
        .origin("token.test/log")
        .keyUri(keyUri)
        .grpcPort(0)
        .httpPort(-1)
        .queueCapacity(1024)
        .maxBatch(256)
        .guard(TestLogs.PATIENT)
        .build();
  }

  @Test
  void checkpointsAreSignedInTheTokenAndTheKeyIsTheLogsForGood() throws Exception {
    String uri = SoftHsm.uri("log-token", "ed", SoftHsm.PIN);
    String vkey;
    try (CustodyServer server =
        CustodyServer.start(config(dir.resolve("data"), uri), (n, t) -> {})) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        var log = TransparencyLogGrpc.newBlockingStub(ch);
        log.submit(SubmitRequest.newBuilder().setEntry(TestLinks.layerZero(1)).build());
        LogInfo info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
        vkey = info.getVerifierKey();
        CheckpointVerifier v =
            new CheckpointVerifier("token.test/log", Ed25519NoteKeys.parseVerifierKey(vkey));
        assertEquals(
            1,
            v.verify(log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote())
                .size());
      } finally {
        ch.shutdownNow();
      }
    }
    try (CustodyServer again =
        CustodyServer.start(config(dir.resolve("data"), uri), (n, t) -> {})) {
      assertEquals(vkey, again.identity().verifierKey(), "the same key opens the log again");
    }
    IOException other =
        assertThrows(
            IOException.class,
            () ->
                CustodyServer.start(
                    config(dir.resolve("data"), SoftHsm.uri("other-token", "ed", SoftHsm.PIN)),
                    (n, t) -> {}));
    assertTrue(
        other.getMessage().contains("is not the key this log was started with"),
        other.getMessage());
    assertTrue(
        !other.getMessage().contains("pin-value=" + SoftHsm.PIN), "the PIN is never in a message");
    IOException ecdsa =
        assertThrows(
            IOException.class,
            () ->
                CustodyServer.start(
                    config(dir.resolve("fresh"), SoftHsm.uri("log-token", "p256", SoftHsm.PIN)),
                    (n, t) -> {}));
    assertTrue(ecdsa.getMessage().contains("must be Ed25519"), ecdsa.getMessage());
  }

  /**
   * Moving a log's key from a file into a token is a rotation: both sign, then the file's key
   * retires.
   */
  @Test
  void aLogMovesItsKeyFromAFileIntoATokenByRotation() throws Exception {
    String uri = SoftHsm.uri("move-token", "ed", SoftHsm.PIN);
    Path data = dir.resolve("moving");
    ServerConfig.Builder base =
        ServerConfig.builder(data)
            .origin("token.test/log")
            .grpcPort(0)
            .httpPort(-1)
            .guard(TestLogs.PATIENT);
    String fileKey;
    try (CustodyServer s = CustodyServer.start(base.build(), (n, t) -> {})) {
      fileKey = s.identity().verifierKey();
    }
    LogKeys overlap =
        LogKeys.DEFAULT.withKeyFile(data.resolve("log.key")).withNext(new LogKeys.Token(uri));
    String tokenKey;
    try (CustodyServer s = CustodyServer.start(base.keys(overlap).build(), (n, t) -> {})) {
      tokenKey = s.identity().signing().get(1).verifier().vkey();
      String note = s.sequencer().head().note();
      for (String k : List.of(fileKey, tokenKey)) {
        assertEquals(
            0,
            new CheckpointVerifier("token.test/log", Ed25519NoteKeys.parseVerifierKey(k))
                .verify(note)
                .size());
      }
    }
    try (CustodyServer s =
        CustodyServer.start(
            base.keys(LogKeys.DEFAULT.withKeyUri(uri).withRetired(List.of(fileKey))).build(),
            (n, t) -> {})) {
      assertEquals(tokenKey, s.identity().verifierKey());
      String note = s.sequencer().head().note();
      assertEquals(
          0,
          new CheckpointVerifier("token.test/log", Ed25519NoteKeys.parseVerifierKey(tokenKey))
              .verify(note)
              .size());
      assertThrows(
          CheckpointException.class,
          () ->
              new CheckpointVerifier("token.test/log", Ed25519NoteKeys.parseVerifierKey(fileKey))
                  .verify(note));
    }
  }
}
