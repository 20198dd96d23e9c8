package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pushback rule on a real server with its default settings: a cold start met by a burst of
 * 2,000 valid links at once (both key types) is served whole, and so is a second burst after idle.
 * The refusal of a standing queue is shown by PushbackTest and StandingQueueTest.
 */
class AdmissionRuleTest {
  @TempDir Path dir;

  private static List<ByteString> links(int n, int tag) {
    LinkKeys.Signer ed = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    LinkKeys.Signer ec = LinkKeys.generate(LinkKeys.Scheme.ECDSA_P256_SHA256);
    List<ByteString> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Digest d = Digest.sha256Of(("burst " + tag + " link " + i).getBytes());
      out.add(
          ByteString.copyFrom(
              SignedLink.sign(
                      new Statement(
                          "registry.example/burst/app",
                          d,
                          0,
                          d,
                          d,
                          d,
                          Statement.NO_PREDECESSOR,
                          1_764_288_000_000L),
                      i % 2 == 0 ? ed : ec)
                  .encoded()));
    }
    return out;
  }

  /** Sends every link at once; returns the count of each status code of the answers. */
  private static Map<Status.Code, Integer> burst(
      TransparencyLogGrpc.TransparencyLogStub log, List<ByteString> links)
      throws InterruptedException {
    Map<Status.Code, Integer> codes = new ConcurrentHashMap<>();
    CountDownLatch done = new CountDownLatch(links.size());
    for (ByteString link : links) {
      log.withDeadlineAfter(60, TimeUnit.SECONDS)
          .submit(
              SubmitRequest.newBuilder().setEntry(link).build(),
              new StreamObserver<>() {
                @Override
                public void onNext(LogEntry e) {}

                @Override
                public void onError(Throwable t) {
                  codes.merge(Status.fromThrowable(t).getCode(), 1, Integer::sum);
                  done.countDown();
                }

                @Override
                public void onCompleted() {
                  codes.merge(Status.Code.OK, 1, Integer::sum);
                  done.countDown();
                }
              });
    }
    assertTrue(done.await(120, TimeUnit.SECONDS), "the burst did not finish");
    return codes;
  }

  @Test
  void aColdStartMetByABurstAndABurstAfterIdleAreServedWhole() throws Exception {
    List<ByteString> first = links(2_000, 1);
    List<ByteString> second = links(2_000, 2);
    try (CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(dir)
                .origin("burst.custody.dev/log")
                .grpcPort(0)
                .httpPort(-1)
                .build(),
            (n, t) -> {})) {
      ManagedChannel channel =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        TransparencyLogGrpc.TransparencyLogStub log = TransparencyLogGrpc.newStub(channel);
        assertEquals(Map.of(Status.Code.OK, 2_000), burst(log, first), "cold start");
        Thread.sleep(1_000);
        assertEquals(Map.of(Status.Code.OK, 2_000), burst(log, second), "after idle");
        assertEquals(
            4_000,
            TransparencyLogGrpc.newBlockingStub(channel)
                .getCheckpoint(GetCheckpointRequest.getDefaultInstance())
                .getTreeSize());
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
