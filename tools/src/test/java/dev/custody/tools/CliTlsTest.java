package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.guard.Guard;
import dev.custody.server.guard.ServerTls;
import dev.custody.server.guard.StandingQueue;
import dev.custody.testing.TestCerts;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI over TLS: reads with the CA alone, submits with a client certificate, refusals in plain
 * words.
 */
class CliTlsTest {
  @TempDir Path work;

  @Test
  void readsAndSubmitsOverTls() throws Exception {
    TestCerts ca = new TestCerts(work, "cli-ca");
    TestCerts.Pem serverPem = ca.server("log");
    TestCerts.Pem team = ca.client("team-a");
    CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(work.resolve("data"))
                .origin("cli.test/tls")
                .grpcPort(0)
                .httpPort(-1)
                .queueCapacity(1024)
                .maxBatch(256)
                .guard(
                    new Guard(
                        Optional.of(
                            new ServerTls(
                                serverPem.cert(), serverPem.key(), Optional.of(ca.caCert))),
                        0,
                        0,
                        60,
                        false,
                        StandingQueue.Rule.DEFAULT))
                .build(),
            (n, t) -> {});
    try {
      String address = "127.0.0.1:" + server.grpcPort();
      String caFile = ca.caCert.toString();
      CliEndToEndTest.Run plain = CliEndToEndTest.custody("checkpoint", "--server", address);
      assertNotEquals(0, plain.code(), "plaintext against a TLS log");
      CliEndToEndTest.Run cp =
          CliEndToEndTest.ok("checkpoint", "--server", address, "--tls-ca", caFile);
      assertTrue(cp.out().startsWith("cli.test/tls\n0\n"), cp.out());

      Path link = work.resolve("links");
      Digest diff = Digest.sha256Of(new byte[] {3});
      LinksFile.write(
          link,
          List.of(
              SignedLink.sign(
                  new Statement(
                      "registry.example/tls/app",
                      Digest.sha256Of(new byte[] {1}),
                      0,
                      Digest.sha256Of(new byte[] {2}),
                      diff,
                      diff,
                      Statement.NO_PREDECESSOR,
                      1_764_288_000_000L),
                  LinkKeys.generate(LinkKeys.Scheme.ED25519))));
      CliEndToEndTest.Run anonymous =
          CliEndToEndTest.custody(
              "submit", "--server", address, "--tls-ca", caFile, link.toString());
      assertNotEquals(0, anonymous.code());
      assertTrue(anonymous.out().contains("needs a client certificate"), anonymous.out());
      CliEndToEndTest.ok(
          "submit",
          "--server",
          address,
          "--tls-ca",
          caFile,
          "--client-cert",
          team.cert().toString(),
          "--client-key",
          team.key().toString(),
          link.toString());
      assertEquals(1, server.sequencer().head().size());
    } finally {
      server.close();
    }
  }
}
