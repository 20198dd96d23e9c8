package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.Chain;
import dev.custody.api.v1.ChainLookupGrpc;
import dev.custody.api.v1.GetChainRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.oci.OciImage;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.testing.OciLayouts;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A flood of junk must not make verification slow or wrong: a thousand junk links naming the
 * application's image, logged before the real chain by someone the policy does not know, neither
 * hide the real chain from the online verifier nor make GetChain by manifest walk them all.
 */
class VerifyFloodTest {
  @TempDir Path work;

  private String p(String name) {
    return work.resolve(name).toString();
  }

  @Test
  void aThousandJunkLinksNamingTheImageDoNotHideItsChain() throws Exception {
    try (CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(work.resolve("data"))
                .origin("flood.test/custody")
                .grpcPort(0)
                .httpPort(-1)
                .build(),
            (n, t) -> {})) {
      String address = "127.0.0.1:" + server.grpcPort();
      Path oci = work.resolve("oci");
      OciLayouts.build(oci, 3, "flood");
      Digest app = OciImage.fromLayout(oci, "step2").manifestDigest();

      // The flood: 1,000 valid bottom-layer links by a stranger, each naming the application's
      // image.
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        LinkKeys.Signer stranger = LinkKeys.generate(LinkKeys.Scheme.ED25519);
        CountDownLatch done = new CountDownLatch(1_000);
        AtomicInteger failed = new AtomicInteger();
        TransparencyLogGrpc.TransparencyLogStub log = TransparencyLogGrpc.newStub(ch);
        for (int i = 0; i < 1_000; i++) {
          Digest d = Digest.sha256Of(("junk " + i).getBytes());
          byte[] link =
              SignedLink.sign(
                      new Statement(
                          "registry.example/junk/app",
                          app,
                          0,
                          d,
                          d,
                          d,
                          Statement.NO_PREDECESSOR,
                          1_764_288_000_000L),
                      stranger)
                  .encoded();
          log.submit(
              SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(link)).build(),
              new StreamObserver<>() {
                @Override
                public void onNext(LogEntry e) {}

                @Override
                public void onError(Throwable t) {
                  failed.incrementAndGet();
                  done.countDown();
                }

                @Override
                public void onCompleted() {
                  done.countDown();
                }
              });
        }
        assertTrue(done.await(120, TimeUnit.SECONDS));
        assertEquals(0, failed.get());

        // Then the three teams, as in the walkthrough.
        CliEndToEndTest.ok("keygen", "--no-password", "--out", p("base"));
        CliEndToEndTest.ok(
            "keygen", "--no-password", "--type", "ecdsa-p256", "--out", p("runtime"));
        CliEndToEndTest.ok("keygen", "--no-password", "--out", p("app"));
        CliEndToEndTest.ok(
            "sign",
            "--layout",
            oci.toString(),
            "--image",
            "step0",
            "--repository",
            "registry.example/base/os",
            "--key",
            p("base.key"),
            "--out",
            p("base.links"));
        CliEndToEndTest.ok(
            "sign",
            "--layout",
            oci.toString(),
            "--image",
            "step1",
            "--repository",
            "registry.example/runtime/jre",
            "--key",
            p("runtime.key"),
            "--on",
            p("base.links"),
            "--out",
            p("runtime.links"));
        CliEndToEndTest.ok(
            "sign",
            "--layout",
            oci.toString(),
            "--image",
            "step2",
            "--repository",
            "registry.example/apps/service",
            "--key",
            p("app.key"),
            "--on",
            p("runtime.links"),
            "--out",
            p("app.links"));
        CliEndToEndTest.ok(
            "submit", "--server", address, p("base.links"), p("runtime.links"), p("app.links"));
        String vkey =
            CliEndToEndTest.ok("info", "--server", address)
                .out()
                .lines()
                .filter(l -> l.startsWith("verifier_key "))
                .findFirst()
                .orElseThrow()
                .substring(13);
        Files.writeString(
            work.resolve("policy.json"),
            """
            {"log": {"origin": "flood.test/custody", "verifier_key": "%s"},
             "signers": [
               {"name": "base", "public_key_file": "base.pub", "layers": {"min": 0, "max": 0}},
               {"name": "runtime", "public_key_file": "runtime.pub", "layers": {"min": 1, "max": 1}},
               {"name": "app", "public_key_file": "app.pub", "layers": {"min": 2, "max": 2}}
             ]}
            """
                .formatted(vkey));
        CliEndToEndTest.Run r =
            CliEndToEndTest.ok(
                "verify",
                "--server",
                address,
                "--policy",
                p("policy.json"),
                "--layout",
                oci.toString(),
                "--image",
                "step2",
                "--checkpoint-store",
                p("store"));
        assertTrue(r.out().contains("VERIFIED: every layer"), r.out());

        // GetChain by the image's digest finds the three-layer chain, not one of the thousand.
        Chain chain =
            ChainLookupGrpc.newBlockingStub(ch)
                .getChain(GetChainRequest.newBuilder().setManifestDigest(app.toString()).build());
        assertEquals(3, chain.getLinksCount());
        SignedLink top =
            SignedLink.parse(Leaf.parse(chain.getLinks(2).getLeaf().toByteArray()).signedLink());
        assertEquals(2, top.statement().layerIndex());
        assertEquals(1_003, server.sequencer().head().size());
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
