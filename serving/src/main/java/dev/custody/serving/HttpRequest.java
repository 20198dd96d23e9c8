package dev.custody.serving;

import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One whole request as a route sees it. {@code path} is the raw (still percent-encoded) path,
 * {@code query} the decoded query parameters, {@code body} at most the server's request cap.
 *
 * @param accept the {@code Accept} header, or "" when absent
 * @param ifNoneMatch the {@code If-None-Match} header (entity tags the client holds), or ""
 * @param client the peer's address, for budgets kept per client
 */
public record HttpRequest(
    String method,
    String path,
    Map<String, List<String>> query,
    String accept,
    String ifNoneMatch,
    byte[] body,
    SocketAddress client) {

  /** A request without {@code If-None-Match}. */
  public HttpRequest(
      String method,
      String path,
      Map<String, List<String>> query,
      String accept,
      byte[] body,
      SocketAddress client) {
    this(method, path, query, accept, "", body, client);
  }

  /**
   * Whether the client already holds the representation tagged {@code etag} (a quoted strong tag),
   * by the weak comparison RFC 9110 asks of {@code If-None-Match}.
   */
  public boolean holds(String etag) {
    String h = ifNoneMatch.strip();
    if (h.equals("*")) return true;
    for (String t : h.split(",")) {
      String tag = t.strip();
      if (tag.startsWith("W/")) tag = tag.substring(2);
      if (tag.equals(etag)) return true;
    }
    return false;
  }

  /** The first value of query parameter {@code name}. */
  public Optional<String> param(String name) {
    List<String> v = query.get(name);
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
  }

  /** Whether the client asked for JSON rather than a page. */
  public boolean wantsJson() {
    return accept.contains("application/json") && !accept.contains("text/html");
  }
}
