package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.api.v1.Checkpoint;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.keys.LogKeys;
import dev.custody.server.witness.Cosigning;
import dev.custody.testing.OciLayouts;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rotation procedure of docs/keys.md, end to end: a log signs with key A; then with A and B
 * (the overlap); then with B alone, A retired. Verifiers that pinned only A, only B, both, or both
 * with windows; a real witness process that trusts A and later B; a monitor that follows the log
 * throughout; and every start the procedure forbids.
 */
class KeyRotationTest {
  static final String ORIGIN = "rotate.test/custody";

  @TempDir Path work;

  String p(String name) {
    return work.resolve(name).toString();
  }

  @Test
  void verifiersWitnessesAndMonitorsFollowTheLogAcrossARotation() throws Exception {
    CliEndToEndTest.ok("keygen", "--type", "log", "--name", ORIGIN, "--out", p("a"));
    CliEndToEndTest.ok("keygen", "--type", "log", "--name", ORIGIN, "--out", p("b"));
    CliEndToEndTest.ok("keygen", "--type", "log", "--name", ORIGIN, "--out", p("c"));
    CliEndToEndTest.ok("keygen", "--no-password", "--out", p("team"));
    CliEndToEndTest.ok("keygen", "--type", "cosigner", "--name", "w.rotate.test", "--out", p("w"));
    String a = Files.readString(work.resolve("a.vkey")).strip();
    String b = Files.readString(work.resolve("b.vkey")).strip();
    Ed25519NoteKeys.Verifier av = Ed25519NoteKeys.parseVerifierKey(a);
    Ed25519NoteKeys.Verifier bv = Ed25519NoteKeys.parseVerifierKey(b);
    String signers =
        """
        "signers": [{"name": "team", "public_key_file": "team.pub", "repositories": ["registry.example/*"]}]""";
    policy("old.json", "\"verifier_key\": \"" + a + "\"", signers);
    policy("new.json", "\"verifier_key\": \"" + b + "\"", signers);
    policy(
        "both.json",
        "\"verifier_keys\": [{\"key\": \""
            + a
            + "\", \"valid_until\": \"2999-01-01T00:00:00Z\"}, {\"key\": \""
            + b
            + "\", \"valid_from\": \"2000-01-01T00:00:00Z\"}]",
        signers);
    // A policy written by someone whose clock says A's time is over and B's has not come.
    policy(
        "windows.json",
        "\"verifier_keys\": [{\"key\": \""
            + a
            + "\", \"valid_until\": \"2001-01-01T00:00:00Z\"}, {\"key\": \""
            + b
            + "\", \"valid_from\": \"2999-01-01T00:00:00Z\"}]",
        signers);
    Path data = work.resolve("data");
    LogKeys onlyA = LogKeys.DEFAULT.withKeyFile(work.resolve("a.key"));
    LogKeys overlap = onlyA.withNext(new LogKeys.File(work.resolve("b.key")));
    LogKeys onlyB = LogKeys.DEFAULT.withKeyFile(work.resolve("b.key"));

    WitnessIT.Child witness =
        WitnessIT.startWitness(work.resolve("w.key"), a, work.resolve("wstate"));
    try {
      // 0. Key A alone.
      try (Log log = new Log(data, onlyA, witness)) {
        log.signAndSubmit("img0");
        assertEquals(1, log.awaitCosigned(1).getWitnessCosignatures());
        assertEquals(List.of(av), signedBy(log.checkpoint().getSignedNote(), av, bv));
        CliEndToEndTest.ok(log.verify("old.json", "img0", "store-kept"));
        CliEndToEndTest.Run pinnedNew = CliEndToEndTest.custody(log.verify("new.json", "img0"));
        assertNotEquals(0, pinnedNew.code());
        assertTrue(pinnedNew.out().contains("add its new key"), pinnedNew.out());
        CliEndToEndTest.ok(log.monitor());
      }
      // 1. The overlap: A and B sign every checkpoint, the latest one at once (no entry needed).
      try (Log log = new Log(data, overlap, witness)) {
        assertEquals(List.of(av, bv), signedBy(log.checkpoint().getSignedNote(), av, bv));
        LogInfo info = log.info();
        assertEquals(a, info.getVerifierKey());
        assertEquals(
            List.of(a, b), info.getKeysList().stream().map(k -> k.getVerifierKey()).toList());
        assertTrue(info.getKeysList().stream().allMatch(k -> k.getRetiredUnixMs() == 0));
        CliEndToEndTest.Run cli = CliEndToEndTest.ok("info", "--server", log.address());
        assertTrue(cli.out().contains("verifier_key " + a + "\nnext_key " + b), cli.out());
        for (String pinned : List.of("old.json", "new.json", "both.json")) {
          CliEndToEndTest.ok(log.verify(pinned, "img0"));
        }
        // The witness still trusts A alone, and still cosigns.
        log.signAndSubmit("img1");
        Checkpoint cosigned = log.awaitCosigned(2);
        assertEquals(List.of(av, bv), signedBy(cosigned.getSignedNote(), av, bv));
        assertEquals(
            log.checkpoint().getSignedNote(),
            log.tilesCheckpoint(),
            "the tiles' checkpoint carries both");
      }
      // A start that forgets the next key is refused: it would drop out of the history unnoticed.
      WitnessIT.Child trustsA = witness;
      IOException forgot =
          assertThrows(IOException.class, () -> new Log(data, onlyA, trustsA).close());
      assertTrue(forgot.getMessage().contains(b + " is not given"), forgot.getMessage());
      // A start that makes B the key without retiring A is refused for the same reason.
      IOException unretired =
          assertThrows(IOException.class, () -> new Log(data, onlyB, trustsA).close());
      assertTrue(unretired.getMessage().contains(a + " is not given"), unretired.getMessage());

      // 2. The witness's operator now trusts B only; the log retires A.
      witness.p().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      witness = WitnessIT.startWitness(work.resolve("w.key"), b, work.resolve("wstate"));
      try (Log log = new Log(data, onlyB.withRetired(List.of(a)), witness)) {
        assertEquals(List.of(bv), signedBy(log.checkpoint().getSignedNote(), av, bv));
        LogInfo info = log.info();
        assertEquals(b, info.getVerifierKey());
        assertEquals(
            List.of(b, a), info.getKeysList().stream().map(k -> k.getVerifierKey()).toList());
        assertTrue(info.getKeys(1).getRetiredUnixMs() > 0, "A is retired");
        CliEndToEndTest.Run cli = CliEndToEndTest.ok("info", "--server", log.address());
        assertTrue(cli.out().contains("retired_key " + a + " "), cli.out());

        CliEndToEndTest.Run pinnedOld = CliEndToEndTest.custody(log.verify("old.json", "img0"));
        assertNotEquals(0, pinnedOld.code());
        assertTrue(pinnedOld.out().contains("add its new key"), pinnedOld.out());
        // The store from step 0 holds a checkpoint only A signed: it is our own record, still good.
        CliEndToEndTest.ok(log.verify("new.json", "img1", "store-kept"));
        CliEndToEndTest.ok(log.verify("both.json", "img1"));
        CliEndToEndTest.Run windows = CliEndToEndTest.custody(log.verify("windows.json", "img1"));
        assertNotEquals(0, windows.code());
        assertTrue(windows.out().contains("trusted only from 2999-01-01T00:00:00Z"), windows.out());

        log.signAndSubmit("img2");
        assertEquals(List.of(bv), signedBy(log.awaitCosigned(3).getSignedNote(), av, bv));
        CliEndToEndTest.ok(log.monitor());
      }
      // A retired key never signs again, as the key or as the next one.
      WitnessIT.Child trustsB = witness;
      IOException retired =
          assertThrows(IOException.class, () -> new Log(data, onlyA, trustsB).close());
      assertTrue(retired.getMessage().contains("was retired at"), retired.getMessage());
      IOException retiredNext =
          assertThrows(
              IOException.class,
              () ->
                  new Log(data, onlyB.withNext(new LogKeys.File(work.resolve("a.key"))), trustsB)
                      .close());
      assertTrue(retiredNext.getMessage().contains("was retired at"), retiredNext.getMessage());
      // A key the log never rotated to cannot take over in one step.
      IOException stranger =
          assertThrows(
              IOException.class,
              () ->
                  new Log(data, LogKeys.DEFAULT.withKeyFile(work.resolve("c.key")), trustsB)
                      .close());
      assertTrue(stranger.getMessage().contains("--next-key-file"), stranger.getMessage());
      // And none of those starts changed the log.
      try (Log log = new Log(data, onlyB, witness)) {
        assertEquals(3, log.checkpoint().getTreeSize());
        assertEquals(List.of(bv), signedBy(log.checkpoint().getSignedNote(), av, bv));
      }
    } finally {
      witness.p().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  private void policy(String name, String logKeys, String signers) throws IOException {
    String json = "{\"log\": {\"origin\": \"" + ORIGIN + "\", " + logKeys + "},\n" + signers;
    Files.writeString(work.resolve(name), json + "}\n");
    // The monitor's rules: the policy plus what to watch.
    Files.writeString(
        work.resolve("rules-" + name), json + ",\n \"watch\": [\"registry.example/*\"]}\n");
  }

  /** Which of {@code keys} signed the note, in the note's order; a bad signature fails the test. */
  private static List<Ed25519NoteKeys.Verifier> signedBy(
      String note, Ed25519NoteKeys.Verifier... keys) throws NoteException {
    SignedNote n = SignedNote.parse(note);
    List<Ed25519NoteKeys.Verifier> out = new ArrayList<>();
    for (SignedNote.Signature s : n.signatures()) {
      for (Ed25519NoteKeys.Verifier k : keys) {
        if (k.keyId() == s.keyId() && k.name().equals(s.keyName())) {
          assertTrue(k.verify(n.text().getBytes(StandardCharsets.UTF_8), s.signature()));
          out.add(k);
        }
      }
    }
    return out;
  }

  /**
   * The log, run in this JVM on the test's data directory, asking the witness process for
   * cosignatures.
   */
  final class Log implements AutoCloseable {
    final CustodyServer server;
    final ManagedChannel channel;
    final TransparencyLogGrpc.TransparencyLogBlockingStub stub;

    Log(Path data, LogKeys keys, WitnessIT.Child witness) throws Exception {
      Cosigning.WitnessConfig w =
          new Cosigning.WitnessConfig(
              URI.create("http://127.0.0.1:" + witness.port() + "/"),
              Ed25519NoteKeys.parseVerifierKey(witness.vkey()));
      server =
          CustodyServer.start(
              ServerConfig.builder(data)
                  .origin(ORIGIN)
                  .keys(keys)
                  .anyPorts()
                  .witnesses(List.of(w), 1)
                  .build(),
              (n, t) -> {});
      channel =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      stub = TransparencyLogGrpc.newBlockingStub(channel);
    }

    String address() {
      return "127.0.0.1:" + server.grpcPort();
    }

    /** Signs a new one-layer image for registry.example/app and submits its link. */
    void signAndSubmit(String image) throws Exception {
      OciLayouts.build(work.resolve(image), 1, image);
      CliEndToEndTest.ok(
          "sign",
          "--layout",
          p(image),
          "--image",
          "step0",
          "--repository",
          "registry.example/app",
          "--key",
          p("team.key"),
          "--out",
          p(image + ".links"));
      CliEndToEndTest.ok("submit", "--server", address(), p(image + ".links"));
    }

    /** Verifies with a checkpoint store of the policy's own (never the user's default one). */
    String[] verify(String policy, String image) {
      return verify(policy, image, "store-" + policy);
    }

    String[] verify(String policy, String image, String store) {
      return new String[] {
        "verify",
        "--server",
        address(),
        "--policy",
        p(policy),
        "--layout",
        p(image),
        "--image",
        "step0",
        "--checkpoint-store",
        p(store)
      };
    }

    String[] monitor() {
      return new String[] {
        "monitor",
        "--log",
        "http://127.0.0.1:" + server.httpPort() + "/",
        "--rules",
        p("rules-both.json"),
        "--state",
        p("monitor-state.json"),
        "--once",
        "--no-progress"
      };
    }

    Checkpoint checkpoint() {
      return stub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .getCheckpoint(GetCheckpointRequest.getDefaultInstance());
    }

    LogInfo info() {
      return stub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .getLogInfo(GetLogInfoRequest.getDefaultInstance());
    }

    String tilesCheckpoint() throws Exception {
      return HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + server.httpPort() + "/checkpoint"))
                  .build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    }

    /** The checkpoint at {@code size} once the witness cosigned it. */
    Checkpoint awaitCosigned(long size) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        Checkpoint c = checkpoint();
        if (c.getTreeSize() == size && c.getWitnessCosignatures() == 1) return c;
        assertTrue(System.nanoTime() < deadline, "never cosigned at size " + size + ": " + c);
        assertFalse(c.getTreeSize() > size, "the log grew past " + size);
        Thread.sleep(100);
      }
    }

    @Override
    public void close() {
      channel.shutdownNow();
      server.close();
    }
  }
}
