package dev.custody.tools;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * A proxy in front of a real registry that answers some requests itself with a status (429, 500,
 * 401) and forwards the rest unchanged: a registry that throttles or fails exactly where a test
 * wants it to, without mocking the registry itself.
 */
final class FaultProxy implements AutoCloseable {
  private static final Set<String> HOP =
      Set.of(
          "connection",
          "content-length",
          "host",
          "transfer-encoding",
          "upgrade",
          "expect",
          "keep-alive");
  private final HttpServer server;
  private final HttpClient http =
      HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  private final String upstream;

  /** (method, path) -> a status to answer with, or 0 to forward. */
  volatile BiFunction<String, String, Integer> fault = (m, p) -> 0;

  final AtomicInteger faulted = new AtomicInteger();
  final AtomicInteger writes = new AtomicInteger();

  FaultProxy(String upstreamHost) throws IOException {
    this.upstream = upstreamHost;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(Executors.newFixedThreadPool(8));
    server.start();
  }

  String host() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String method = ex.getRequestMethod();
      String path = ex.getRequestURI().getRawPath();
      int status = fault.apply(method, path);
      if (status != 0) {
        faulted.incrementAndGet();
        byte[] body =
            ("{\"errors\":[{\"code\":\"INJECTED\",\"message\":\"injected " + status + "\"}]}")
                .getBytes();
        if (status == 429) ex.getResponseHeaders().add("Retry-After", "0");
        ex.sendResponseHeaders(status, body.length);
        ex.getResponseBody().write(body);
        return;
      }
      if (!method.equals("GET") && !method.equals("HEAD")) writes.incrementAndGet();
      byte[] in = ex.getRequestBody().readAllBytes();
      HttpRequest.Builder b =
          HttpRequest.newBuilder(URI.create("http://" + upstream + ex.getRequestURI()))
              .method(
                  method,
                  in.length == 0 && (method.equals("GET") || method.equals("HEAD"))
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofByteArray(in));
      ex.getRequestHeaders()
          .forEach(
              (k, vs) -> {
                if (!HOP.contains(k.toLowerCase())) vs.forEach(v -> b.header(k, v));
              });
      HttpResponse<byte[]> r;
      try {
        r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
      r.headers()
          .map()
          .forEach(
              (k, vs) -> {
                if (HOP.contains(k.toLowerCase()) || k.equals(":status")) return;
                // The registry names itself in upload locations: name the proxy instead.
                List<String> out = vs.stream().map(v -> v.replace(upstream, host())).toList();
                ex.getResponseHeaders().put(k, out);
              });
      byte[] body = r.body();
      boolean noBody = method.equals("HEAD") || r.statusCode() == 204 || r.statusCode() == 304;
      ex.sendResponseHeaders(r.statusCode(), noBody ? -1 : (body.length == 0 ? -1 : body.length));
      if (!noBody && body.length > 0) {
        try (OutputStream o = ex.getResponseBody()) {
          o.write(body);
        }
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
