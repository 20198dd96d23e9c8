package dev.custody.serving;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a route answers. {@code headers} are set as given (Cache-Control, security headers, ...);
 * Content-Type, Content-Length and Connection are the server's.
 */
public record HttpResponse(
    int status, String contentType, byte[] body, Map<String, String> headers) {
  public HttpResponse {
    headers = Map.copyOf(headers);
  }

  public HttpResponse(int status, String contentType, byte[] body) {
    this(status, contentType, body, Map.of());
  }

  /** A plain-text answer, never cached. */
  public static HttpResponse text(int status, String text) {
    return new HttpResponse(
        status,
        "text/plain; charset=utf-8",
        text.getBytes(StandardCharsets.UTF_8),
        Map.of("Cache-Control", "no-cache, max-age=0"));
  }

  /** This answer with one more header (or one replaced). */
  public HttpResponse with(String name, String value) {
    Map<String, String> h = new LinkedHashMap<>(headers);
    h.put(name, value);
    return new HttpResponse(status, contentType, body, h);
  }
}
