package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.guard.CallLimits;
import dev.custody.server.read.LogReader;
import dev.custody.server.tiles.TileRoutes;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.HttpConnections;
import dev.custody.serving.HttpServer;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile peers against a real server process with a small heap: streams opened and never read, and
 * witnesses that answer without end or a byte at a time. After each, the server still answers
 * promptly, its memory stays bounded, and SIGTERM stops it.
 */
class HostilePeersIT {
  @TempDir Path dir;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private static void fill(ManagedChannel ch, int n) throws Exception {
    TransparencyLogGrpc.TransparencyLogStub log = TransparencyLogGrpc.newStub(ch);
    Semaphore inFlight = new Semaphore(256);
    CountDownLatch done = new CountDownLatch(n);
    AtomicInteger failed = new AtomicInteger();
    for (int i = 0; i < n; i++) {
      inFlight.acquire();
      byte[] entry = ("entry " + i + " ").repeat(20).getBytes(StandardCharsets.UTF_8);
      log.submit(
          SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(entry)).build(),
          new StreamObserver<>() {
            @Override
            public void onNext(LogEntry e) {}

            @Override
            public void onError(Throwable t) {
              failed.incrementAndGet();
              inFlight.release();
              done.countDown();
            }

            @Override
            public void onCompleted() {
              inFlight.release();
              done.countDown();
            }
          });
    }
    assertTrue(done.await(120, TimeUnit.SECONDS));
    assertEquals(0, failed.get());
  }

  /** GetCheckpoint over its own connection and /checkpoint over HTTP, each within two seconds. */
  private void assertResponsive(ChildServer s, ManagedChannel ch) throws Exception {
    long t0 = System.nanoTime();
    TransparencyLogGrpc.newBlockingStub(ch)
        .withDeadlineAfter(2, TimeUnit.SECONDS)
        .getCheckpoint(GetCheckpointRequest.getDefaultInstance());
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.httpPort + "/checkpoint"))
                .timeout(Duration.ofSeconds(2))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(4), "the server answers promptly");
  }

  /**
   * The sum of the series whose line starts with {@code prefix} (a name, or a name and some
   * labels).
   */
  private long metric(ChildServer s, String prefix) throws Exception {
    String body =
        http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.httpPort + "/metrics"))
                    .timeout(Duration.ofSeconds(5))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    long sum = 0;
    Matcher m =
        Pattern.compile("(?m)^" + Pattern.quote(prefix) + "[^ \\n]* ([0-9.]+)$").matcher(body);
    while (m.find()) sum += (long) Double.parseDouble(m.group(1));
    return sum;
  }

  @Test
  void unreadStreamsOnTwoConnectionsHoldBoundedMemory() throws Exception {
    try (ChildServer s =
        ChildServer.start(
            dir.resolve("data"),
            256,
            "--accept-any-entry",
            "--origin",
            "hostile.custody.dev/streams")) {
      ManagedChannel probe =
          ManagedChannelBuilder.forAddress("127.0.0.1", s.grpcPort).usePlaintext().build();
      List<ManagedChannel> attack = new ArrayList<>();
      try {
        fill(probe, 10_000);
        long rssBefore = s.rssMb();
        long heapBefore = metric(s, "custody_jvm_heap_used_bytes") >> 20;
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger other = new AtomicInteger();
        int perConnection = 4096;
        for (int c = 0; c < 2; c++) {
          // A fixed 64 KiB window, as the attacker used: gRPC's automatic window tuning would
          // otherwise take
          // in a whole 10,000-entry answer and leave nothing held at the server.
          ManagedChannel ch =
              NettyChannelBuilder.forAddress("127.0.0.1", s.grpcPort)
                  .usePlaintext()
                  .flowControlWindow(65_535)
                  .build();
          attack.add(ch);
          for (int i = 0; i < perConnection; i++) {
            ClientCall<GetEntriesRequest, LogEntry> call =
                ch.newCall(TransparencyLogGrpc.getGetEntriesMethod(), CallOptions.DEFAULT);
            call.start(
                new ClientCall.Listener<>() {
                  @Override
                  public void onClose(Status status, Metadata trailers) {
                    if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED)
                      refused.incrementAndGet();
                    else other.incrementAndGet();
                  }
                },
                new Metadata());
            // Never call request(): the reader holds its window shut, as the attacker did.
            call.sendMessage(GetEntriesRequest.newBuilder().setStart(0).setEnd(10_000).build());
            call.halfClose();
          }
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (refused.get() < 2 * perConnection - 64 && System.nanoTime() < until)
          Thread.sleep(100);
        Thread.sleep(2_000); // let the streams that were let in fill their windows
        long rssAfter = s.rssMb();
        long heapAfter = metric(s, "custody_jvm_heap_used_bytes") >> 20;
        System.out.printf(
            "unread streams: %d refused, %d other; server RSS %d -> %d MiB, heap used %d -> %d MiB "
                + "(-Xmx256m; at most %d streams per client, %d per server, %d calls per connection)%n",
            refused.get(),
            other.get(),
            rssBefore,
            rssAfter,
            heapBefore,
            heapAfter,
            CallLimits.STREAMS_PER_CLIENT,
            CallLimits.STREAMS,
            256);
        assertTrue(
            refused.get() >= 2 * perConnection - CallLimits.STREAMS_PER_CLIENT,
            "streams over the per-client cap are refused: " + refused.get());
        long openStreams = metric(s, "custody_entry_streams_open");
        assertTrue(
            openStreams > 0 && openStreams <= CallLimits.STREAMS_PER_CLIENT,
            "the streams let in are the ones the per-client cap allows: " + openStreams);
        assertResponsive(s, probe);
        assertTrue(rssAfter < 500, "resident memory stays bounded: " + rssAfter + " MiB");
        assertTrue(s.process.isAlive(), s.output());
        assertTrue(s.terminate(30), "SIGTERM stops the server while the streams are still open");
      } finally {
        attack.forEach(ManagedChannel::shutdownNow);
        probe.shutdownNow();
      }
    }
  }

  /** A witness that answers 200 and then sends {@code chunk} forever, {@code pauseMillis} apart. */
  private static ServerSocket badWitness(byte[] chunk, long pauseMillis) throws IOException {
    ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t =
        new Thread(
            () -> {
              while (!ss.isClosed()) {
                try {
                  Socket sock = ss.accept();
                  Thread w =
                      new Thread(
                          () -> {
                            try (sock;
                                InputStream in = sock.getInputStream();
                                OutputStream out = sock.getOutputStream()) {
                              byte[] buf = new byte[65536];
                              in.read(buf); // the request (enough of it)
                              out.write(
                                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                                      .getBytes(StandardCharsets.US_ASCII));
                              while (true) {
                                out.write(chunk);
                                out.flush();
                                if (pauseMillis > 0) Thread.sleep(pauseMillis);
                              }
                            } catch (Exception closed) {
                              // the server gave up on us: that is the point
                            }
                          });
                  w.setDaemon(true);
                  w.start();
                } catch (IOException closed) {
                  return;
                }
              }
            });
    t.setDaemon(true);
    t.start();
    return ss;
  }

  @Test
  void anEndlessAndADrippingWitnessCostTheirOwnRequestsOnly() throws Exception {
    byte[] mib = "— junk cosignature line\n".repeat(40_000).getBytes(StandardCharsets.UTF_8);
    try (ServerSocket endless = badWitness(mib, 0);
        ServerSocket drip = badWitness(new byte[] {'x'}, 1_000)) {
      Ed25519NoteKeys.Signer w1 =
          Ed25519NoteKeys.generate(
              "endless.witness", Ed25519NoteKeys.COSIGNATURE, new SecureRandom());
      Ed25519NoteKeys.Signer w2 =
          Ed25519NoteKeys.generate("drip.witness", Ed25519NoteKeys.COSIGNATURE, new SecureRandom());
      try (ChildServer s =
          ChildServer.start(
              dir.resolve("data"),
              256,
              "--accept-any-entry",
              "--origin",
              "hostile.custody.dev/witness",
              "--witness",
              "http://127.0.0.1:" + endless.getLocalPort() + "/=" + w1.verifier().vkey(),
              "--witness",
              "http://127.0.0.1:" + drip.getLocalPort() + "/=" + w2.verifier().vkey())) {
        ManagedChannel ch =
            ManagedChannelBuilder.forAddress("127.0.0.1", s.grpcPort).usePlaintext().build();
        try {
          long rssBefore = s.rssMb();
          long maxRss = rssBefore;
          long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(25);
          int round = 0;
          while (System.nanoTime() < end) {
            // New checkpoints keep the cosigning rounds going.
            TransparencyLogGrpc.newBlockingStub(ch)
                .withDeadlineAfter(5, TimeUnit.SECONDS)
                .submit(
                    SubmitRequest.newBuilder()
                        .setEntry(ByteString.copyFromUtf8("round " + round++))
                        .build());
            assertResponsive(s, ch);
            maxRss = Math.max(maxRss, s.rssMb());
            Thread.sleep(500);
          }
          long tooLarge =
              metric(
                  s,
                  "custody_witness_requests_total{result=\"too_large\",witness=\"endless.witness\"}");
          long timedOut =
              metric(
                  s,
                  "custody_witness_requests_total{result=\"unreachable\",witness=\"drip.witness\"}");
          System.out.printf(
              "hostile witnesses: %d rounds, endless answers cut at 64 KiB: %d, drips cut at 10 s: %d; "
                  + "RSS %d -> max %d MiB (-Xmx256m)%n",
              round, tooLarge, timedOut, rssBefore, maxRss);
          assertTrue(tooLarge >= 1, "the endless answer is cut off at the size cap");
          assertTrue(timedOut >= 1, "the dripping answer is cut off at the deadline");
          assertTrue(maxRss < 500, "resident memory stays bounded: " + maxRss + " MiB");
          assertTrue(
              !s.output().contains("junk cosignature line\n— junk"),
              "a witness's raw answer is not logged whole");
          assertTrue(s.terminate(30), "SIGTERM stops the server");
        } finally {
          ch.shutdownNow();
        }
      }
    }
  }

  @Test
  void connectionsBeyondTheCapCarryNoCalls() throws Exception {
    try (CustodyServer server =
        CustodyServer.start(TestLogs.config(dir.resolve("data")), (n, t) -> {})) {
      List<ManagedChannel> channels = new ArrayList<>();
      try {
        int refused = 0;
        int served = 0;
        for (int i = 0; i < CallLimits.CONNECTIONS_PER_CLIENT + 6; i++) {
          ManagedChannel ch =
              ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort())
                  .usePlaintext()
                  .build();
          channels.add(ch);
          try {
            TransparencyLogGrpc.newBlockingStub(ch)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .getCheckpoint(GetCheckpointRequest.getDefaultInstance());
            served++;
          } catch (StatusRuntimeException e) {
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
            assertTrue(
                e.getStatus().getDescription().contains("connections open"),
                e.getStatus().getDescription());
            refused++;
          }
        }
        assertEquals(CallLimits.CONNECTIONS_PER_CLIENT, served);
        assertEquals(6, refused);
        // Closing some frees their places.
        for (int i = 0; i < 10; i++)
          channels.get(i).shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        Thread.sleep(500);
        ManagedChannel late =
            ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
        channels.add(late);
        TransparencyLogGrpc.newBlockingStub(late)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .getCheckpoint(GetCheckpointRequest.getDefaultInstance());
      } finally {
        channels.forEach(ManagedChannel::shutdownNow);
      }
    }
  }

  @Test
  void halfRequestsOnTheTilePortAreCappedAndTimedOut() throws Exception {
    try (CustodyServer server =
        CustodyServer.start(TestLogs.config(dir.resolve("data")), (n, t) -> {})) {
      // The in-process server's tile port is off in TestLogs.config; serve its tile routes on a
      // port of our own
      // with a short deadline.
      HttpConnections guard = new HttpConnections(64, 4096, 1_500);
      try (HttpServer tiles =
          HttpServer.builder()
              .connections(guard)
              .start(
                  TileRoutes.of(
                      new LogReader(server.storage()),
                      () ->
                          new Cosigning.Served(
                              server.sequencer().head(),
                              server.sequencer().head().note(),
                              0,
                              true)))) {
        List<Socket> half = new ArrayList<>();
        try {
          for (int i = 0; i < 200; i++) {
            Socket sock = new Socket();
            sock.connect(new InetSocketAddress("127.0.0.1", tiles.port()), 2_000);
            sock.setSoTimeout(5_000);
            sock.getOutputStream().write("GET /checkpo".getBytes(StandardCharsets.US_ASCII));
            half.add(sock);
          }
          // Beyond 64 from one address, connections are closed at once.
          Thread.sleep(500);
          assertEquals(
              64, guard.open("address 127.0.0.1"), "at most 64 connections from one address");
          // Another address is not shut out by this one's flood.
          try (Socket other = new Socket()) {
            other.bind(new InetSocketAddress("127.0.0.2", 0));
            other.connect(new InetSocketAddress("127.0.0.1", tiles.port()), 2_000);
            other.setSoTimeout(5_000);
            other
                .getOutputStream()
                .write(
                    "GET /checkpoint HTTP/1.1\r\nHost: x\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
            String head =
                new String(other.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertEquals("HTTP/1.1 200", head);
          }
          // The half requests are closed once the request deadline passes.
          Thread.sleep(2_500);
          int closed = 0;
          for (Socket sock : half) {
            try {
              if (sock.getInputStream().read() == -1) closed++;
            } catch (IOException reset) {
              closed++;
            }
          }
          assertEquals(200, closed, "every half request was closed by the server");
          assertEquals(0, guard.openInAll());
        } finally {
          for (Socket sock : half) sock.close();
        }
      }
    }
  }
}
