package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.server.guard.Guard;
import dev.custody.server.guard.ServerTls;
import dev.custody.server.guard.StandingQueue;
import dev.custody.testing.TestCerts;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on both endpoints with client certificates for submitters, per-client budgets and the
 * server's cap on every call's life, each against a real server over loopback.
 */
class GuardTest {
  @TempDir Path dir;

  private CustodyServer start(Path data, Guard guard) throws Exception {
    return CustodyServer.start(
        ServerConfig.builder(data)
            .origin("test.custody.dev/guard")
            .anyPorts()
            .acceptAnyEntry(true)
            .queueCapacity(1024)
            .maxBatch(256)
            .guard(guard)
            .build(),
        (n, t) -> {});
  }

  private static ByteString entry(int i, int size) {
    byte[] e = new byte[size];
    ByteBuffer.wrap(e).putInt(0x6a7d).putInt(i);
    return ByteString.copyFrom(e);
  }

  private static long size(TransparencyLogGrpc.TransparencyLogBlockingStub log) {
    return log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
  }

  @Test
  void tlsWithClientCertificatesForSubmittersOnly() throws Exception {
    TestCerts ca = new TestCerts(dir, "custody-test");
    TestCerts.Pem serverPem = ca.server("log");
    TestCerts.Pem submitter = ca.client("team-a");
    TestCerts.Pem stranger = new TestCerts(dir, "someone-else").client("mallory");
    CustodyServer server =
        start(
            dir.resolve("data"),
            new Guard(
                Optional.of(
                    new ServerTls(serverPem.cert(), serverPem.key(), Optional.of(ca.caCert))),
                0,
                0,
                60,
                false,
                StandingQueue.Rule.DEFAULT));
    int port = server.grpcPort();
    ManagedChannel anonymous =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1",
                port,
                TlsChannelCredentials.newBuilder().trustManager(ca.caCert.toFile()).build())
            .build();
    ManagedChannel teamA =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1",
                port,
                TlsChannelCredentials.newBuilder()
                    .trustManager(ca.caCert.toFile())
                    .keyManager(submitter.cert().toFile(), submitter.key().toFile())
                    .build())
            .build();
    ManagedChannel mallory =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1",
                port,
                TlsChannelCredentials.newBuilder()
                    .trustManager(ca.caCert.toFile())
                    .keyManager(stranger.cert().toFile(), stranger.key().toFile())
                    .build())
            .build();
    ManagedChannel plain =
        Grpc.newChannelBuilderForAddress("127.0.0.1", port, InsecureChannelCredentials.create())
            .build();
    try {
      var anon =
          TransparencyLogGrpc.newBlockingStub(anonymous).withDeadlineAfter(20, TimeUnit.SECONDS);
      long before = size(anon); // reads need no certificate
      StatusRuntimeException e =
          assertThrows(
              StatusRuntimeException.class,
              () -> anon.submit(SubmitRequest.newBuilder().setEntry(entry(1, 100)).build()));
      assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
      assertTrue(
          e.getStatus().getDescription().contains("needs a client certificate"),
          e.getStatus().getDescription());
      // A batch is a write too: the same certificate or nothing.
      StatusRuntimeException batch =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  anon.submitBatch(
                      SubmitBatchRequest.newBuilder().addEntries(entry(1, 100)).build()));
      assertEquals(Status.Code.UNAUTHENTICATED, batch.getStatus().getCode());

      e =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  TransparencyLogGrpc.newBlockingStub(mallory)
                      .withDeadlineAfter(20, TimeUnit.SECONDS)
                      .submit(SubmitRequest.newBuilder().setEntry(entry(2, 100)).build()));
      // The server asks only for certificates of its client CA, so the JDK client offers none:
      // refused as anonymous.
      assertEquals(
          Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), "a certificate from another CA");

      e =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  TransparencyLogGrpc.newBlockingStub(plain)
                      .withDeadlineAfter(20, TimeUnit.SECONDS)
                      .getLogInfo(GetLogInfoRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), "plaintext to a TLS port");
      assertEquals(before, size(anon), "nothing refused was appended");

      LogEntry ok =
          TransparencyLogGrpc.newBlockingStub(teamA)
              .withDeadlineAfter(20, TimeUnit.SECONDS)
              .submit(SubmitRequest.newBuilder().setEntry(entry(3, 100)).build());
      assertEquals(before, ok.getIndex());
      assertEquals(before + 1, size(anon));

      // The tiles over HTTPS, trusting the same CA.
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      try (var in = Files.newInputStream(ca.caCert)) {
        trust.setCertificateEntry(
            "ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      HttpResponse<String> r =
          HttpClient.newBuilder()
              .sslContext(ssl)
              .build()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("https://127.0.0.1:" + server.httpPort() + "/checkpoint"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      assertTrue(r.body().startsWith("test.custody.dev/guard\n" + (before + 1) + "\n"), r.body());
    } finally {
      for (ManagedChannel c : new ManagedChannel[] {anonymous, teamA, mallory, plain})
        c.shutdownNow();
      server.close();
    }
  }

  @Test
  void aClientOverItsBudgetIsToldSoAndNothingIsAppended() throws Exception {
    CustodyServer server =
        start(
            dir.resolve("data"),
            new Guard(Optional.empty(), 5, 5, 60, false, StandingQueue.Rule.DEFAULT));
    ManagedChannel ch =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1", server.grpcPort(), InsecureChannelCredentials.create())
            .build();
    try {
      var log = TransparencyLogGrpc.newBlockingStub(ch);
      int ok = 0;
      StatusRuntimeException refused = null;
      for (int i = 0; i < 20 && refused == null; i++) {
        try {
          log.submit(SubmitRequest.newBuilder().setEntry(entry(i, 100)).build());
          ok++;
        } catch (StatusRuntimeException e) {
          refused = e;
        }
      }
      assertTrue(refused != null, "20 calls at once passed a budget of 5/s with a burst of 5");
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, refused.getStatus().getCode());
      assertTrue(
          refused
              .getStatus()
              .getDescription()
              .contains("address 127.0.0.1 is over its budget of 5.0 calls/s"),
          refused.getStatus().getDescription());
      assertTrue(ok >= 5 && ok <= 6, "calls admitted before the refusal: " + ok);
      Thread.sleep(1_100); // the bucket refills at 5/s
      long size = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
      assertEquals(ok, size, "only the admitted calls appended");
    } finally {
      ch.shutdownNow();
      server.close();
    }
  }

  @Test
  void noCallOutlivesTheServersLimitEvenAStalledStream() throws Exception {
    CustodyServer server =
        start(
            dir.resolve("data"),
            new Guard(Optional.empty(), 0, 0, 1, false, StandingQueue.Rule.DEFAULT));
    ManagedChannel ch =
        Grpc.newChannelBuilderForAddress(
                "127.0.0.1", server.grpcPort(), InsecureChannelCredentials.create())
            .build();
    try {
      var log = TransparencyLogGrpc.newBlockingStub(ch);
      int n = 60;
      for (int i = 0; i < n; i++)
        log.submit(SubmitRequest.newBuilder().setEntry(entry(i, 60_000)).build());
      // A reader that asks for everything (3.6 MB) and then reads nothing: flow control stops the
      // server,
      // and the server's one-second limit ends the call.
      AtomicInteger received = new AtomicInteger();
      CompletableFuture<Status> end = new CompletableFuture<>();
      CompletableFuture<ClientCallStreamObserver<GetEntriesRequest>> call =
          new CompletableFuture<>();
      ClientResponseObserver<GetEntriesRequest, LogEntry> reader =
          new ClientResponseObserver<>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<GetEntriesRequest> c) {
              call.complete(c);
              c.disableAutoRequestWithInitial(1);
            }

            @Override
            public void onNext(LogEntry e) {
              received.incrementAndGet();
            }

            @Override
            public void onError(Throwable t) {
              end.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
              end.complete(Status.OK);
            }
          };
      TransparencyLogGrpc.newStub(ch)
          .getEntries(GetEntriesRequest.newBuilder().setStart(0).setEnd(n).build(), reader);
      Thread.sleep(2_000);
      call.get().request(n); // too late
      Status s = end.get(10, TimeUnit.SECONDS);
      assertEquals(Status.Code.DEADLINE_EXCEEDED, s.getCode(), s.toString());
      assertTrue(received.get() < n, "received " + received.get());
      // A call within the limit is unaffected.
      assertEquals(n, log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize());
    } finally {
      ch.shutdownNow();
      server.close();
    }
  }
}
