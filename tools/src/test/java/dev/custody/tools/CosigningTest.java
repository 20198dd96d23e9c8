package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.Checkpoint;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.keys.LogKeyFile;
import dev.custody.server.witness.Cosigning;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A log with two real `custody witness` processes and one black-hole witness: checkpoints reach the
 * quorum of two, appends never wait for the witness that does not answer, and when a witness dies
 * the served checkpoint says that the quorum is not met.
 */
class CosigningTest {
  @TempDir Path work;

  @Test
  void quorumOfTwoRealWitnessesAndASilentOne() throws Exception {
    String origin = "cosign.test/log";
    Ed25519NoteKeys.Signer logKey = LogKeyFile.create(work.resolve("log.key"), origin);
    String logVkey = logKey.verifier().vkey();
    List<Ed25519NoteKeys.Verifier> wkeys = new ArrayList<>();
    List<WitnessIT.Child> children = new ArrayList<>();
    try (ServerSocket blackHole = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread sink =
          new Thread(
              () -> {
                List<Socket> held = new ArrayList<>();
                try {
                  while (true) held.add(blackHole.accept()); // accept, never answer
                } catch (Exception done) {
                  held.forEach(
                      s -> {
                        try {
                          s.close();
                        } catch (Exception ignored) {
                        }
                      });
                }
              });
      sink.setDaemon(true);
      sink.start();
      List<Cosigning.WitnessConfig> configs = new ArrayList<>();
      for (int i = 1; i <= 2; i++) {
        Path key = work.resolve("w" + i);
        CustodyCli.run(
            "keygen",
            "--type",
            "cosigner",
            "--name",
            "w" + i + ".cosign.test",
            "--out",
            key.toString());
        WitnessIT.Child c =
            WitnessIT.startWitness(
                work.resolve("w" + i + ".key"), logVkey, work.resolve("state" + i));
        children.add(c);
        Ed25519NoteKeys.Verifier v = Ed25519NoteKeys.parseVerifierKey(c.vkey());
        wkeys.add(v);
        configs.add(
            new Cosigning.WitnessConfig(URI.create("http://127.0.0.1:" + c.port() + "/"), v));
      }
      Ed25519NoteKeys.Signer silentKey =
          Ed25519NoteKeys.generate(
              "silent.cosign.test", Ed25519NoteKeys.COSIGNATURE, new SecureRandom());
      configs.add(
          new Cosigning.WitnessConfig(
              URI.create("http://127.0.0.1:" + blackHole.getLocalPort() + "/"),
              silentKey.verifier()));

      try (CustodyServer server =
          CustodyServer.start(
              ServerConfig.builder(work.resolve("data"))
                  .origin(origin)
                  .keyFile(work.resolve("log.key"))
                  .anyPorts()
                  .acceptAnyEntry(true)
                  .queueCapacity(1024)
                  .maxBatch(256)
                  .witnesses(configs, 2)
                  .build(),
              (n, t) -> {})) {
        ManagedChannel ch =
            ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
        try {
          var log = TransparencyLogGrpc.newBlockingStub(ch);
          long t0 = System.nanoTime();
          for (int i = 0; i < 20; i++) {
            log.withDeadlineAfter(10, TimeUnit.SECONDS)
                .submit(
                    SubmitRequest.newBuilder()
                        .setEntry(ByteString.copyFromUtf8("cosigned " + i))
                        .build());
          }
          assertTrue(
              System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(8), "appends waited for witnesses");

          Checkpoint cp = await(log, c -> c.getTreeSize() == 20 && c.getWitnessQuorum());
          assertEquals(2, cp.getWitnessCosignatures());
          SignedNote note = SignedNote.parse(cp.getSignedNote());
          note.verify(List.of(logKey.verifier()));
          for (Ed25519NoteKeys.Verifier w : wkeys) note.verify(List.of(w));
          HttpResponse<String> http =
              HttpClient.newHttpClient()
                  .send(
                      HttpRequest.newBuilder(
                              URI.create("http://127.0.0.1:" + server.httpPort() + "/checkpoint"))
                          .build(),
                      HttpResponse.BodyHandlers.ofString());
          assertEquals(cp.getSignedNote(), http.body());
          assertEquals("met", http.headers().firstValue("custody-witness-quorum").orElseThrow());

          // One real witness dies: appends go on, and the checkpoint served says the quorum is not
          // met.
          children.get(1).p().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
          for (int i = 20; i < 25; i++) {
            log.withDeadlineAfter(10, TimeUnit.SECONDS)
                .submit(
                    SubmitRequest.newBuilder()
                        .setEntry(ByteString.copyFromUtf8("cosigned " + i))
                        .build());
          }
          Checkpoint after =
              await(log, c -> c.getTreeSize() == 25 && c.getWitnessCosignatures() == 1);
          assertFalse(after.getWitnessQuorum());
          SignedNote.parse(after.getSignedNote()).verify(List.of(wkeys.get(0)));
        } finally {
          ch.shutdownNow();
        }
      }
    } finally {
      for (WitnessIT.Child c : children) c.p().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static Checkpoint await(
      TransparencyLogGrpc.TransparencyLogBlockingStub log, Predicate<Checkpoint> done)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    Checkpoint c;
    do {
      Thread.sleep(100);
      c =
          log.withDeadlineAfter(10, TimeUnit.SECONDS)
              .getCheckpoint(GetCheckpointRequest.getDefaultInstance());
      assertTrue(System.nanoTime() < deadline, "never reached: " + c);
    } while (!done.test(c));
    return c;
  }
}
