package dev.custody.logclient;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.oci.OciImage;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.keys.LogKeyFile;
import dev.custody.testing.OciLayouts;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.CheckpointStore;
import dev.custody.verify.TrustPolicy;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LogClient against a live log over loopback: every answer checked, every refusal typed. */
class LogClientTest {
  @TempDir Path work;

  private CustodyServer start(Path data, boolean opaque) throws Exception {
    return CustodyServer.start(
        ServerConfig.builder(data)
            .origin("logclient.test/log")
            .keyFile(work.resolve("log.key"))
            .anyPorts()
            .acceptAnyEntry(opaque)
            .build(),
        (n, t) -> {});
  }

  /** One layer of an image in an OCI layout, signed for registry.example/app. */
  private static SignedLink link(OciImage image, LinkKeys.Signer key) {
    return SignedLink.sign(
        new Statement(
            "registry.example/app",
            image.manifestDigest(),
            0,
            image.layerDigests().get(0),
            image.diffIds().get(0),
            image.chainIds().get(0),
            Statement.NO_PREDECESSOR,
            System.currentTimeMillis()),
        key);
  }

  @Test
  void theReadmeExampleRunsAsWritten() throws Exception {
    LogKeyFile.create(work.resolve("log.key"), "logclient.test/log");
    try (CustodyServer server = start(work.resolve("data"), false)) {
      LinkKeys.Signer team = LinkKeys.generate(LinkKeys.Scheme.ED25519);
      Path layout = work.resolve("oci");
      OciLayouts.build(layout, 1, "readme");
      Path policyFile = work.resolve("policy.json");
      Files.writeString(
          policyFile,
          """
          {"log": {"origin": "logclient.test/log", "verifier_key": "%s"},
           "signers": [{"name": "team", "public_key": "%s", "repositories": ["registry.example/*"]}]}
          """
              .formatted(
                  server.identity().verifierKey(), team.publicKeyPem().replace("\n", "\\n")));
      String address = "127.0.0.1:" + server.grpcPort();
      Path checkpoints = work.resolve("checkpoints");
      SignedLink link = link(OciImage.fromLayout(layout, "step0"), team);

      // guide: begin
      TrustPolicy policy = TrustPolicy.read(policyFile);
      try (LogClient log =
          LogClient.builder(address)
              .trust(policy.logVerifier())
              .checkpointStore(new CheckpointStore(checkpoints))
              .build()) {
        // Its signed checkpoint and inclusion proof are checked before submit returns.
        LogClient.Submitted s = log.submit(link.encoded());
        // The whole chain of custody: every layer's link, signer and inclusion.
        OciImage image = OciImage.fromLayout(layout, "step0");
        ChainVerifier.Result r = log.verify(image, policy).orElseThrow();
        System.out.println(
            r.ok() ? "VERIFIED at " + s.index() : "NOT VERIFIED: " + r.logFailures());
        // For a verifier with no network.
        Bundle offline = log.bundle(image, policy);
        Files.write(work.resolve("app.bundle.json"), offline.toJson());
      }
      // guide: end

      ChainVerifier.Result again =
          new ChainVerifier(policy)
              .verify(
                  OciImage.fromLayout(layout, "step0"),
                  Bundle.parse(Files.readAllBytes(work.resolve("app.bundle.json"))),
                  null,
                  null);
      assertTrue(again.ok(), again.toString());
      String example =
          Files.readString(Path.of("src/test/java/dev/custody/logclient/LogClientTest.java"));
      String block =
          example.substring(
              example.indexOf("// guide: begin\n") + 16, example.indexOf("      // guide: end"));
      String dedented =
          block
              .lines()
              .map(l -> l.length() >= 6 ? l.substring(6) : l)
              .collect(Collectors.joining("\n"));
      assertTrue(
          Files.readString(Path.of("../docs/signing-and-verifying.md")).contains(dedented),
          "the guide's Java example (docs/signing-and-verifying.md) is this test's, word for word:\n"
              + dedented);
    }
  }

  @Test
  void submitAllSendsBatchesWithinTheLimitsAndChecksEveryProof() throws Exception {
    LogKeyFile.create(work.resolve("log.key"), "logclient.test/log");
    try (CustodyServer server = start(work.resolve("all"), true)) {
      CheckpointVerifier pinned =
          new CheckpointVerifier(
              "logclient.test/log",
              Ed25519NoteKeys.parseVerifierKey(server.identity().verifierKey()));
      try (LogClient log =
          LogClient.builder("127.0.0.1:" + server.grpcPort()).trust(pinned).build()) {
        // More than one call's worth (1,024 entries): sent in two calls, answered in order.
        List<byte[]> entries = new ArrayList<>();
        for (int i = 0; i < 1500; i++) entries.add(bytes("entry " + i));
        entries.set(700, new byte[0]); // refused alone
        entries.set(701, bytes("entry 3")); // a duplicate of an earlier one
        List<LogClient.Outcome> out = log.submitAll(entries);
        assertEquals(1500, out.size());
        LogException.Refused empty = out.get(700).refused().orElseThrow();
        assertEquals(Status.Code.INVALID_ARGUMENT, empty.code());
        LogClient.Submitted dup = out.get(701).submitted().orElseThrow();
        assertTrue(dup.duplicate());
        assertEquals(out.get(3).submitted().orElseThrow().index(), dup.index());
        Set<Long> indices = new HashSet<>();
        for (int i = 0; i < 1500; i++) {
          if (i == 700 || i == 701) continue;
          LogClient.Submitted s = out.get(i).submitted().orElseThrow();
          assertTrue(indices.add(s.index()), "one index per entry");
          assertArrayEquals(Hashes.leafHash(entries.get(i)), s.leafHash());
          assertTrue(s.checkpoint().isPresent(), "checked against the log's key");
          assertEquals(s.treeSize(), s.checkpoint().get().size());
        }
        assertEquals(1498, server.sequencer().head().size());
      }
    }
  }

  @Test
  void answersAreCheckedAndRefusalsTyped() throws Exception {
    LogKeyFile.create(work.resolve("log.key"), "logclient.test/log");
    try (CustodyServer server = start(work.resolve("a"), true)) {
      String address = "127.0.0.1:" + server.grpcPort();
      CheckpointVerifier pinned =
          new CheckpointVerifier(
              "logclient.test/log",
              Ed25519NoteKeys.parseVerifierKey(server.identity().verifierKey()));
      CheckpointStore store = new CheckpointStore(work.resolve("store"));
      try (LogClient log = LogClient.builder(address).trust(pinned).checkpointStore(store).build();
          LogClient unpinned = LogClient.builder(address).build()) {
        assertEquals("logclient.test/log", unpinned.info().getOrigin());
        LogClient.Submitted first = unpinned.submit(bytes("first"));
        assertTrue(first.checkpoint().isEmpty(), "nothing to check it with");
        LogClient.Submitted second = log.submit(bytes("second"));
        assertEquals(1, second.index());
        assertEquals(2, second.checkpoint().orElseThrow().size());
        assertArrayEquals(Hashes.leafHash(bytes("second")), second.leafHash());
        LogClient.Submitted again = log.submit(bytes("second"));
        assertTrue(again.duplicate());
        assertEquals(1, again.index());

        SignedCheckpoint at2 = log.checkpoint();
        log.submit(bytes("third"));
        SignedCheckpoint at3 = log.checkpoint();
        assertEquals(3, at3.size());
        assertEquals(3, store.stored(pinned).orElseThrow().size(), "the store took the newest");
        assertEquals(2, log.inclusionProof(0, first.leafHash(), at3.checkpoint()).size());
        assertFalse(log.consistencyProof(at2.checkpoint(), at3.checkpoint()).isEmpty());
        LogException.Untrusted wrongLeaf =
            assertThrows(
                LogException.Untrusted.class,
                () -> log.inclusionProof(0, second.leafHash(), at3.checkpoint()));
        assertTrue(wrongLeaf.getMessage().contains("does not verify"), wrongLeaf.getMessage());

        LogException.Refused empty =
            assertThrows(LogException.Refused.class, () -> log.submit(new byte[0]));
        assertEquals(Status.Code.INVALID_ARGUMENT, empty.code());
        assertTrue(
            empty.getMessage().startsWith("Submit: the log answered INVALID_ARGUMENT"),
            empty.getMessage());
        assertThrows(
            IllegalStateException.class,
            unpinned::checkpoint,
            "no key pinned: nothing to check with");
      }
      // A client that pinned another key trusts nothing this log signs.
      CheckpointVerifier stranger =
          new CheckpointVerifier(
              "logclient.test/log",
              Ed25519NoteKeys.generate("logclient.test/log", new SecureRandom()).verifier());
      try (LogClient wrong = LogClient.builder(address).trust(stranger).build()) {
        LogException.Untrusted e = assertThrows(LogException.Untrusted.class, wrong::checkpoint);
        assertTrue(
            e.getMessage().contains("no signature by a log key trusted now"), e.getMessage());
      }
    }
    // Another history under the same origin and key (a split view): the store refuses it.
    try (CustodyServer fork = start(work.resolve("b"), true)) {
      CheckpointVerifier pinned =
          new CheckpointVerifier(
              "logclient.test/log",
              Ed25519NoteKeys.parseVerifierKey(fork.identity().verifierKey()));
      try (LogClient writer = LogClient.builder("127.0.0.1:" + fork.grpcPort()).build();
          LogClient log =
              LogClient.builder("127.0.0.1:" + fork.grpcPort())
                  .trust(pinned)
                  .checkpointStore(new CheckpointStore(work.resolve("store")))
                  .build()) {
        for (String e : List.of("other 1", "other 2", "other 3", "other 4"))
          writer.submit(bytes(e));
        LogException.Untrusted e = assertThrows(LogException.Untrusted.class, log::checkpoint);
        assertTrue(e.getMessage().contains("consisten"), e.getMessage());
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
