package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.server.keys.LogKeyFile;
import dev.custody.server.keys.LogKeys;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A data directory belongs to one origin and one key, for ever. */
class LogIdentityTest {
  @TempDir Path dir;

  @Test
  void firstRunCreatesAnOwnerOnlyKeyAndLaterRunsReuseIt() throws Exception {
    String vkey;
    try (CustodyServer s = CustodyServer.start(TestLogs.config(dir), (n, t) -> {})) {
      vkey = s.identity().verifierKey();
      assertTrue(vkey.startsWith("test.custody.dev/log+"));
    }
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("log.key"))));
    // Without --origin the stored origin is used.
    ServerConfig noOrigin =
        ServerConfig.builder(dir)
            .grpcPort(0)
            .httpPort(-1)
            .acceptAnyEntry(true)
            .queueCapacity(16)
            .maxBatch(16)
            .build();
    try (CustodyServer s = CustodyServer.start(noOrigin, (n, t) -> {})) {
      assertEquals(vkey, s.identity().verifierKey());
      assertEquals("test.custody.dev/log", s.identity().origin());
    }
  }

  @Test
  void refusesAnotherOriginAnotherKeyOrAMissingKey() throws Exception {
    try (CustodyServer s = CustodyServer.start(TestLogs.config(dir), (n, t) -> {})) {
      assertTrue(s.sequencer().head().size() == 0);
    }
    ServerConfig base = TestLogs.config(dir);
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                CustodyServer.start(
                    ServerConfig.builder(dir)
                        .origin("other.example/log")
                        .grpcPort(0)
                        .httpPort(-1)
                        .acceptAnyEntry(true)
                        .queueCapacity(16)
                        .maxBatch(16)
                        .build(),
                    (n, t) -> {}));
    assertTrue(e.getMessage().contains("holds the log \"test.custody.dev/log\""), e.getMessage());

    Path otherKey = dir.resolveSibling(dir.getFileName() + "-other.key");
    LogKeyFile.create(otherKey, "test.custody.dev/log");
    e =
        assertThrows(
            IOException.class,
            () ->
                CustodyServer.start(
                    ServerConfig.builder(dir)
                        .origin(base.origin().orElseThrow())
                        .keyFile(otherKey)
                        .grpcPort(0)
                        .httpPort(-1)
                        .acceptAnyEntry(true)
                        .queueCapacity(16)
                        .maxBatch(16)
                        .build(),
                    (n, t) -> {}));
    assertTrue(e.getMessage().contains("is not the key this log was started with"), e.getMessage());

    Files.delete(dir.resolve("log.key"));
    e = assertThrows(IOException.class, () -> CustodyServer.start(base, (n, t) -> {}));
    assertTrue(e.getMessage().contains("is missing"), e.getMessage());
    Files.delete(otherKey);
  }

  @Test
  void refusesAKeyFileOthersCanRead() throws Exception {
    try (CustodyServer s = CustodyServer.start(TestLogs.config(dir), (n, t) -> {})) {
      assertEquals(0, s.sequencer().head().size());
    }
    Files.setPosixFilePermissions(
        dir.resolve("log.key"), PosixFilePermissions.fromString("rw-r--r--"));
    IOException e =
        assertThrows(
            IOException.class, () -> CustodyServer.start(TestLogs.config(dir), (n, t) -> {}));
    assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    assertTrue(!e.getMessage().contains("PRIVATE+KEY"), "the key never appears in an error");
  }

  @Test
  void refusesAKeyWhoseNameIsNotTheOrigin() throws Exception {
    Path key = dir.resolve("named.key");
    LogKeyFile.create(key, "someone.else/log");
    ServerConfig base = TestLogs.config(dir.resolve("data"));
    IOException e =
        assertThrows(
            IOException.class,
            () -> CustodyServer.start(base.toBuilder().keyFile(key).build(), (n, t) -> {}));
    assertTrue(e.getMessage().contains("must be the origin"), e.getMessage());
  }

  @Test
  void theKeyNeverAppearsInErrorsOrMetrics() throws Exception {
    Path key = dir.resolve("named.key");
    LogKeyFile.create(key, "someone.else/log");
    String secret = Files.readString(key).trim();
    String secretPart = secret.split("\\+", 5)[4]; // PRIVATE+KEY+<name>+<id>+<base64 private key>
    ServerConfig base = TestLogs.config(dir.resolve("data"));
    IOException wrongName =
        assertThrows(
            IOException.class,
            () -> CustodyServer.start(base.toBuilder().keyFile(key).build(), (n, t) -> {}));
    // A damaged key file: the secret with one character changed.
    Files.writeString(key, secret.substring(0, secret.length() - 2) + "!!\n");
    IOException damaged =
        assertThrows(
            IOException.class,
            () -> CustodyServer.start(base.toBuilder().keyFile(key).build(), (n, t) -> {}));
    for (IOException e : List.of(wrongName, damaged)) {
      assertFalse(
          String.valueOf(e.getMessage()).contains(secretPart.substring(0, 12)), e.getMessage());
    }
    // A running server's metrics and log info hold the verifier key only.
    try (CustodyServer s =
        CustodyServer.start(
            ServerConfig.builder(dir.resolve("data2"))
                .origin("t.example/log")
                .anyPorts()
                .acceptAnyEntry(true)
                .queueCapacity(16)
                .maxBatch(16)
                .build(),
            (n, t) -> {})) {
      String own = Files.readString(dir.resolve("data2").resolve("log.key")).trim();
      String ownSecret = own.split("\\+", 5)[4].substring(0, 12);
      String metrics =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + s.httpPort() + "/metrics"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      assertFalse(metrics.contains(ownSecret));
      assertFalse(s.identity().verifierKey().contains(ownSecret));
      assertFalse(s.identity().toString().contains(ownSecret), "LogIdentity's toString");
    }
  }

  /** A store opened read-only signs nothing, so it cannot take a new key, and says so. */
  @Test
  void aReadOnlyStoreKeepsItsKeysAndRefusesARotation() throws Exception {
    try (CustodyServer s = CustodyServer.start(TestLogs.config(dir), (n, t) -> {})) {
      assertEquals(0, s.sequencer().head().size());
    }
    Path next = dir.resolveSibling(dir.getFileName() + "-next.key");
    LogKeyFile.create(next, "test.custody.dev/log");
    LogKeys keys = LogKeys.DEFAULT;
    try (LogStorage ro = LogStorage.openReadOnly(dir.resolve("db"))) {
      LogIdentity same = LogIdentity.establish(ro, Optional.empty(), keys, dir);
      assertEquals("test.custody.dev/log", same.origin());
      IOException e =
          assertThrows(
              IOException.class,
              () ->
                  LogIdentity.establish(
                      ro, Optional.empty(), keys.withNext(new LogKeys.File(next)), dir));
      assertTrue(e.getMessage().contains("the store is read-only"), e.getMessage());
    }
    Files.delete(next);
  }
}
