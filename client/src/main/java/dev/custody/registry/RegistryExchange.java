package dev.custody.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.http.BoundedHttp;
import dev.custody.http.OutboundPolicy;
import dev.custody.verify.Printable;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One request to a registry, as an untrusted peer: authentication ({@link RegistryAuth}), redirects
 * (GET and HEAD only, at most {@value #MAX_REDIRECTS}, never down from HTTPS, credentials only to
 * the registry's own origin), the outbound policy on every hop, retries of 429, 5xx and refused
 * connections within the request's deadline ({@link RequestDeadline}), every body read into a
 * bounded buffer ({@link BoundedHttp}); a final refusal is thrown as its {@link RegistryException}.
 * Thread-safe.
 */
final class RegistryExchange {
  private static final int MAX_REDIRECTS = 5;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final Set<String> plainHttp;
  private final RequestDeadline deadline;
  private final int retries;
  private final Duration retryBase;
  private final Duration maxRetryAfter;
  private final OutboundPolicy outbound;
  private final RegistryAuth auth;

  RegistryExchange(
      HttpClient http,
      Set<String> plainHttp,
      RequestDeadline deadline,
      int retries,
      Duration retryBase,
      Duration maxRetryAfter,
      OutboundPolicy outbound,
      Credentials credentials) {
    this.http = http;
    this.plainHttp = Set.copyOf(plainHttp);
    this.deadline = deadline;
    this.retries = retries;
    this.retryBase = retryBase;
    this.maxRetryAfter = maxRetryAfter;
    this.outbound = outbound;
    this.auth = new RegistryAuth(http, credentials, outbound, deadline, this::plain);
  }

  /**
   * {@code https://host} or, for loopback and {@link Builder#insecure} hosts, {@code http://host}.
   */
  URI base(ImageReference repo) {
    String host = repo.apiHost();
    return URI.create((plain(host) ? "http://" : "https://") + host);
  }

  /** True when {@code a} and {@code b} have the same scheme, host and port. */
  static boolean sameOrigin(URI a, URI b) {
    return a.getScheme() != null
        && a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost() != null
        && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI u) {
    if (u.getPort() >= 0) return u.getPort();
    return "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
  }

  boolean plain(String host) {
    String name =
        host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1) : host.split(":")[0];
    return name.equals("localhost")
        || name.equals("127.0.0.1")
        || name.equals("[::1]")
        || plainHttp.contains(host);
  }

  BoundedHttp.Response send(
      String method,
      ImageReference repo,
      String path,
      boolean push,
      Map<String, String> headers,
      byte[] body,
      int maxBytes)
      throws IOException {
    return send(
        method,
        base(repo).resolve("/v2/" + repo.repository() + "/" + path),
        repo,
        push,
        headers,
        body,
        maxBytes);
  }

  /**
   * One request, with authentication, redirects (GET and HEAD only, credentials only to the
   * registry itself) and retries of 429, 5xx and refused connections; a final refusal is thrown as
   * its {@link RegistryException}.
   */
  BoundedHttp.Response send(
      String method,
      URI uri,
      ImageReference repo,
      boolean push,
      Map<String, String> headers,
      byte[] body,
      int maxBytes)
      throws IOException {
    String host = repo.apiHost();
    String scope = "repository:" + repo.repository() + ":" + (push ? "pull,push" : "pull");
    boolean authenticated = false;
    int attempt = 0;
    int redirects = 0;
    URI target = uri;
    while (true) {
      HttpRequest.Builder b =
          HttpRequest.newBuilder(target)
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofByteArray(body))
              .header("User-Agent", "custody/0.1");
      headers.forEach(b::header);
      // Credentials go only to the registry itself: the same scheme, host and port as its API. A
      // page or redirect elsewhere is fetched without them.
      boolean ours = sameOrigin(target, base(repo));
      if (ours) {
        Optional<String> auth = this.auth.authorization(repo, scope);
        if (auth.isPresent()) b.header("Authorization", auth.get());
      }
      outbound.check(target);
      Duration budget = deadline.remaining("before " + method + " " + target.getRawPath());
      b.timeout(budget);
      BoundedHttp.Response r;
      try {
        r = BoundedHttp.send(http, b.build(), maxBytes, budget);
      } catch (ConnectException | HttpTimeoutException e) {
        if (attempt++ < retries) {
          deadline.sleep(backoff(attempt));
          continue;
        }
        if (deadline.passed()) {
          throw new RegistryException.DeadlineExceeded(
              "registry " + host + " did not answer within the request's deadline");
        }
        throw new IOException(
            "registry "
                + host
                + " did not answer "
                + method
                + " "
                + target.getRawPath()
                + ": "
                + e.getMessage(),
            e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      int s = r.status();
      if (s == 401 && ours && !authenticated) {
        authenticated = true;
        auth.authenticate(repo, scope, r.header("www-authenticate").orElse(null));
        continue;
      }
      if ((s == 301 || s == 302 || s == 303 || s == 307 || s == 308)
          && (method.equals("GET") || method.equals("HEAD"))) {
        if (++redirects > MAX_REDIRECTS)
          throw new RegistryException.BadAnswer(
              host + " redirected " + target + " more than " + MAX_REDIRECTS + " times");
        URI to =
            target.resolve(
                r.header("location")
                    .orElseThrow(
                        () ->
                            new RegistryException.BadAnswer(
                                host + " redirected without a Location")));
        if (target.getScheme().equals("https") && !to.getScheme().equals("https")) {
          throw new RegistryException.BadAnswer(
              host + " redirected from HTTPS to " + to.getScheme() + "; refused");
        }
        target = to;
        continue;
      }
      if ((s == 429 || s >= 500) && attempt < retries) {
        Duration wait = retryAfter(r).orElse(backoff(attempt + 1));
        if (wait.compareTo(maxRetryAfter) <= 0) {
          attempt++;
          deadline.sleep(wait);
          continue;
        }
      }
      if (s >= 200 && s < 300) return r;
      throw refusal(method, target, repo, r);
    }
  }

  private RegistryException refusal(
      String method, URI target, ImageReference repo, BoundedHttp.Response r) {
    String what = method + " " + target.getRawPath();
    String detail = errorDetail(r.body());
    String host = repo.apiHost();
    return switch (r.status()) {
      case 401 ->
          new RegistryException.Unauthorized(
              "registry "
                  + host
                  + " refused "
                  + what
                  + ": 401 Unauthorized"
                  + detail
                  + "; log in (docker login "
                  + repo.registry()
                  + ") or put its credentials in the Docker config ($DOCKER_CONFIG)");
      case 403 ->
          new RegistryException.Forbidden(
              "registry "
                  + host
                  + " refused "
                  + what
                  + ": 403 Forbidden"
                  + detail
                  + "; the login is valid but may not do this");
      case 404 ->
          new RegistryException.NotFound(
              "registry "
                  + host
                  + " has no "
                  + target.getRawPath()
                  + " (404 Not Found"
                  + detail
                  + ")");
      case 429 ->
          new RegistryException.TooManyRequests(
              "registry "
                  + host
                  + " throttled "
                  + what
                  + ": 429 Too Many Requests"
                  + detail
                  + " (still after "
                  + retries
                  + " retries); try again later");
      default ->
          new RegistryException.Refused(
              r.status(),
              "registry " + host + " refused " + what + ": HTTP " + r.status() + detail);
    };
  }

  /**
   * The registry's error codes and messages ({@code {"errors":[{"code","message"}]}}), printable,
   * or "".
   */
  private static String errorDetail(byte[] body) {
    try {
      JsonNode e = JSON.readTree(body).path("errors");
      List<String> parts = new ArrayList<>();
      for (JsonNode x : e)
        parts.add(x.path("code").asText("") + ": " + x.path("message").asText(""));
      return parts.isEmpty() ? "" : " (" + Printable.of(String.join("; ", parts)) + ")";
    } catch (IOException | RuntimeException notJson) {
      return "";
    }
  }

  private static Optional<Duration> retryAfter(BoundedHttp.Response r) {
    Optional<String> h = r.header("retry-after");
    if (h.isEmpty() || !h.get().strip().matches("[0-9]{1,6}")) return Optional.empty();
    return Optional.of(Duration.ofSeconds(Long.parseLong(h.get().strip())));
  }

  private Duration backoff(int attempt) {
    long base = retryBase.toMillis() << Math.min(attempt - 1, 6);
    return Duration.ofMillis(base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1));
  }
}
