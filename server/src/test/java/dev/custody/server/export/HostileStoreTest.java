package dev.custody.server.export;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Stand-in S3 stores that lie or stall, as a misconfigured or hostile endpoint would: one that
 * accepts every PUT whatever its conditions, one that never answers, one that answers a checkpoint
 * of a megabyte. The export refuses the first, gives up on the second by its deadline, and reads no
 * more than 64 KiB of the third.
 */
class HostileStoreTest {
  @BeforeAll
  static void credentials() {
    System.setProperty("aws.accessKeyId", "access");
    System.setProperty("aws.secretAccessKey", "secret");
  }

  @AfterAll
  static void clear() {
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  /** Answers 200 to every PUT and DELETE, and {@code getBody} to every GET, ignoring conditions. */
  private static HttpServer liar(int getBody) throws IOException {
    HttpServer h = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    h.createContext(
        "/",
        x -> {
          x.getRequestBody().readAllBytes();
          x.getResponseHeaders().add("ETag", "\"e\"");
          if (x.getRequestMethod().equals("GET")) {
            x.sendResponseHeaders(200, getBody);
            byte[] chunk = new byte[8192];
            for (int sent = 0; sent < getBody; sent += chunk.length) {
              try {
                x.getResponseBody().write(chunk, 0, Math.min(chunk.length, getBody - sent));
              } catch (IOException closed) {
                break; // the reader stopped, as it should
              }
            }
          } else {
            x.sendResponseHeaders(x.getRequestMethod().equals("DELETE") ? 204 : 200, -1);
          }
          x.close();
        });
    h.start();
    return h;
  }

  private static S3Sink sink(int port, S3Sink.Deadlines d) {
    return new S3Sink(
        URI.create("s3://bucket/log"), Optional.of(URI.create("http://127.0.0.1:" + port)), d);
  }

  @Test
  void aStoreThatDoesNotEnforceCreateOnlyWritesIsRefused() throws Exception {
    HttpServer h = liar(10);
    try (S3Sink s = sink(h.getAddress().getPort(), S3Sink.Deadlines.DEFAULT)) {
      TileSink.ConflictException e = assertThrows(TileSink.ConflictException.class, s::probe);
      assertTrue(e.getMessage().contains("does not enforce create-only writes"), e.getMessage());
      // Nothing is written there: the probe comes first.
      assertThrows(
          TileSink.ConflictException.class, () -> s.putImmutable("tile/0/000", new byte[] {1}));
      IllegalArgumentException atStart =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new S3Target(
                          URI.create("s3://bucket/log"),
                          Optional.of(URI.create("http://127.0.0.1:" + h.getAddress().getPort())))
                      .open());
      assertTrue(atStart.getMessage().contains("does not enforce"), atStart.getMessage());
    } finally {
      h.stop(0);
    }
  }

  @Test
  void aStoreThatNeverAnswersIsGivenUpOnByTheDeadline() throws Exception {
    List<Socket> held = new ArrayList<>();
    try (ServerSocket tarpit = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread t =
          new Thread(
              () -> {
                try {
                  while (true) held.add(tarpit.accept()); // accept, never answer
                } catch (IOException closed) {
                  // the test is over
                }
              });
      t.setDaemon(true);
      t.start();
      S3Sink.Deadlines d = new S3Sink.Deadlines(Duration.ofSeconds(3), Duration.ofSeconds(1));
      try (S3Sink s = sink(tarpit.getLocalPort(), d)) {
        long t0 = System.nanoTime();
        assertThrows(IOException.class, s::checkpoint);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 6_000, "a stalled store held the read for " + ms + " ms");
      }
    } finally {
      for (Socket s : held) s.close();
    }
  }

  @Test
  void aCheckpointOfAMegabyteIsNotRead() throws Exception {
    HttpServer h = liar(1 << 20);
    try (S3Sink s = sink(h.getAddress().getPort(), S3Sink.Deadlines.DEFAULT)) {
      IOException e = assertThrows(IOException.class, s::checkpoint);
      assertTrue(e.getMessage().contains("longer than 65536 bytes"), e.getMessage());
    } finally {
      h.stop(0);
    }
  }
}
