package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.guard.Guard;
import dev.custody.server.guard.StandingQueue;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients retry pushback: a log that gives each client 2 calls a second (burst 1) refuses most of
 * six quick submissions with RESOURCE_EXHAUSTED, and `custody submit` still logs all six, once
 * each.
 */
class CliRetryTest {
  @TempDir Path work;

  @Test
  void submitRetriesPushbackAndNoLinkAppearsTwice() throws Exception {
    try (CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(work.resolve("data"))
                .origin("cli.test/retry")
                .grpcPort(0)
                .httpPort(-1)
                .queueCapacity(1024)
                .maxBatch(256)
                .guard(new Guard(Optional.empty(), 2, 1, 60, false, StandingQueue.Rule.DEFAULT))
                .build(),
            (n, t) -> {})) {
      String address = "127.0.0.1:" + server.grpcPort();
      // Without retries the budget shows: a second call at once is refused.
      ManagedChannel plain =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort())
              .usePlaintext()
              .disableRetry()
              .build();
      try {
        TransparencyLogGrpc.TransparencyLogBlockingStub log =
            TransparencyLogGrpc.newBlockingStub(plain);
        StatusRuntimeException refused = null;
        for (int i = 0; i < 5 && refused == null; i++) {
          try {
            log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
          } catch (StatusRuntimeException e) {
            refused = e;
          }
        }
        assertTrue(
            refused != null && refused.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED,
            "the budget must refuse calls made at once: " + refused);
      } finally {
        plain.shutdownNow();
      }

      LinkKeys.Signer key = LinkKeys.generate(LinkKeys.Scheme.ED25519);
      List<SignedLink> links = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        Digest d = Digest.sha256Of(("retry " + i).getBytes());
        links.add(
            SignedLink.sign(
                new Statement(
                    "registry.example/retry/app",
                    d,
                    0,
                    d,
                    d,
                    d,
                    Statement.NO_PREDECESSOR,
                    1_764_288_000_000L),
                key));
      }
      Path file = work.resolve("links");
      LinksFile.write(file, links);
      CliEndToEndTest.Run first =
          CliEndToEndTest.ok("submit", "--server", address, "--json", file.toString());
      assertEquals(6, server.sequencer().head().size(), first.out());
      CliEndToEndTest.Run again =
          CliEndToEndTest.ok("submit", "--server", address, "--json", file.toString());
      assertEquals(6, server.sequencer().head().size(), "a resubmitted link is never logged twice");
      assertEquals(
          6,
          again.out().lines().filter(l -> l.contains("\"duplicate\":true")).count(),
          again.out());
      assertEquals(
          first
              .out()
              .lines()
              .map(
                  l ->
                      l.replaceAll(",\"duplicate\":\\w+", "").replaceAll(",\"tree_size\":\\d+", ""))
              .toList(),
          again
              .out()
              .lines()
              .map(
                  l ->
                      l.replaceAll(",\"duplicate\":\\w+", "").replaceAll(",\"tree_size\":\\d+", ""))
              .toList(),
          "the same link at the same index");
    }
  }
}
