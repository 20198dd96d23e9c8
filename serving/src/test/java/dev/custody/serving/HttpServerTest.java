package dev.custody.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The route table's answers over a real socket, as a client that reads raw HTTP sees them. */
class HttpServerTest {
  private static Routes routes(CountDownLatch slowRelease) {
    return Routes.builder()
        .get("/hello", r -> HttpResponse.text(200, "hello " + r.param("who").orElse("you") + "\n"))
        .getPrefix("/files/", r -> HttpResponse.text(200, "file " + r.path() + "\n"))
        .route(Set.of("POST"), "/echo", r -> HttpResponse.text(200, new String(r.body())))
        .get(
            "/boom",
            r -> {
              throw new IllegalStateException("a bug");
            })
        .async(
            Set.of("GET"),
            "/slow",
            r ->
                CompletableFuture.supplyAsync(
                    () -> {
                      try {
                        slowRelease.await(10, TimeUnit.SECONDS);
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                      return HttpResponse.text(200, "slow\n");
                    }))
        .build();
  }

  /** Sends {@code raw} and reads until the server closes (every request says Connection: close). */
  private static String exchange(int port, String raw) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      in.transferTo(out);
      return out.toString(StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void theTableAnswersWhatItHoldsAndSaysWhyForTheRest() throws Exception {
    try (HttpServer server =
        HttpServer.builder().maxRequestBytes(64).start(routes(new CountDownLatch(0)))) {
      int port = server.port();
      String ok =
          exchange(port, "GET /hello?who=x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      assertTrue(ok.startsWith("HTTP/1.1 200"), ok);
      assertTrue(ok.endsWith("\r\n\r\nhello x\n"), ok);
      assertTrue(
          exchange(port, "GET /files/a/b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
              .endsWith("file /files/a/b\n"));

      String head = exchange(port, "HEAD /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      assertTrue(head.startsWith("HTTP/1.1 200"), head);
      assertTrue(
          head.toLowerCase().contains("content-length: 10"), "HEAD gives GET's length: " + head);
      assertTrue(head.endsWith("\r\n\r\n"), "and no body: " + head);

      String missing = exchange(port, "GET /nope HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      assertTrue(missing.startsWith("HTTP/1.1 404"), missing);

      String wrong =
          exchange(port, "DELETE /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      assertTrue(wrong.startsWith("HTTP/1.1 405"), wrong);
      assertTrue(wrong.toLowerCase().contains("allow: get, head"), wrong);
      String postOnly =
          exchange(port, "GET /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      assertTrue(postOnly.toLowerCase().contains("allow: post"), postOnly);

      String big =
          exchange(
              port,
              "POST /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 65\r\n\r\n"
                  + "x".repeat(65));
      assertTrue(big.startsWith("HTTP/1.1 413"), "over the body cap: " + big);
      String fits =
          exchange(
              port,
              "POST /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 64\r\n\r\n"
                  + "y".repeat(64));
      assertTrue(fits.endsWith("y".repeat(64)), fits);

      String bug = exchange(port, "GET /boom HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      assertTrue(bug.startsWith("HTTP/1.1 500"), bug);
      assertTrue(!bug.contains("a bug"), "a handler's exception text stays in the log: " + bug);

      String garbage = exchange(port, "GET /" + "a".repeat(5000) + " HTTP/1.1\r\n\r\n");
      assertTrue(garbage.startsWith("HTTP/1.1 400"), "an over-long request line: " + garbage);
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredOneAtATimeInOrder() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (HttpServer server = HttpServer.builder().start(routes(release))) {
      CompletableFuture<String> both =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return exchange(
                      server.port(),
                      "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n"
                          + "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      // While the slow answer waits, a cheap route on another connection answers at once.
      String other =
          exchange(server.port(), "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      assertTrue(other.endsWith("hello you\n"), other);
      release.countDown();
      String answers = both.get(10, TimeUnit.SECONDS);
      int slow = answers.indexOf("slow\n");
      int hello = answers.indexOf("hello you\n");
      assertTrue(slow > 0 && hello > slow, "in request order: " + answers);
      assertEquals(2, answers.split("HTTP/1.1 200", -1).length - 1, answers);
    }
  }
}
