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
 * @param client the peer's address, for budgets kept per client
 */
public record HttpRequest(
    String method,
    String path,
    Map<String, List<String>> query,
    String accept,
    byte[] body,
    SocketAddress client) {

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
