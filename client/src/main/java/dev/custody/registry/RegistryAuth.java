package dev.custody.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.custody.http.BoundedHttp;
import dev.custody.http.OutboundPolicy;
import dev.custody.io.BoundedCache;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * How a registry client authenticates, following the registry's {@code WWW-Authenticate} challenge:
 * Basic with the login from {@link Credentials}, or Bearer with a token from the challenge's realm
 * (the distribution token protocol), cached per host and scope until it expires. The realm is a hop
 * like any other ({@link OutboundPolicy}); challenges, logins and tokens are kept in bounded
 * caches, since hosts and scopes come from callers. Thread-safe.
 */
final class RegistryAuth {
  /** A token service's answer is read no further; the token in it is at most {@link #MAX_TOKEN}. */
  private static final int MAX_TOKEN_RESPONSE_BYTES = 16 << 10;

  /** The longest bearer token used (real ones are a few hundred bytes to a few KiB). */
  static final int MAX_TOKEN = 8 << 10;

  /** Tokens, challenges and logins kept: per registry host and scope, in bytes. */
  private static final int AUTH_CACHE_ENTRIES = 1024;

  private static final long AUTH_CACHE_BYTES = 1 << 20;
  private static final long CHALLENGE_TTL_NANOS = 3_600_000_000_000L;

  private record Token(String header, long expiresAtNanos) {}

  private final HttpClient http;
  private final Credentials credentials;
  private final OutboundPolicy outbound;
  private final RequestDeadline deadline;
  private final Predicate<String> plain;

  /** host -> "Basic ..." once the host asked for Basic. */
  private final BoundedCache<String, String> basic =
      new BoundedCache<>(AUTH_CACHE_ENTRIES, AUTH_CACHE_BYTES, String::length, System::nanoTime);

  /** host -> its Bearer challenge, so a new scope asks for a token without a 401 first. */
  private final BoundedCache<String, Challenge> bearer =
      new BoundedCache<>(
          AUTH_CACHE_ENTRIES,
          AUTH_CACHE_BYTES,
          c -> c.params().toString().length(),
          System::nanoTime);

  /** host + " " + scope -> token, until it expires. */
  private final BoundedCache<String, Token> tokens =
      new BoundedCache<>(
          AUTH_CACHE_ENTRIES, 4 * AUTH_CACHE_BYTES, t -> t.header().length(), System::nanoTime);

  /**
   * @param plain whether a host (with its port) may be spoken to over plain HTTP
   */
  RegistryAuth(
      HttpClient http,
      Credentials credentials,
      OutboundPolicy outbound,
      RequestDeadline deadline,
      Predicate<String> plain) {
    this.http = http;
    this.credentials = credentials;
    this.outbound = outbound;
    this.deadline = deadline;
    this.plain = plain;
  }

  Optional<String> authorization(ImageReference repo, String scope) throws IOException {
    String host = repo.apiHost();
    Optional<Token> t = tokens.get(host + " " + scope);
    if (t.isPresent()) return Optional.of(t.get().header());
    Optional<Challenge> c = bearer.get(host);
    if (c.isPresent()) return Optional.of(token(repo, scope, c.get()).header());
    return basic.get(host);
  }

  /**
   * Reads the challenge of a 401 and gets what it asks for, or throws {@link
   * RegistryException.Unauthorized}.
   */
  void authenticate(ImageReference repo, String scope, String header) throws IOException {
    String host = repo.apiHost();
    Challenge c =
        Challenge.parse(header)
            .orElseThrow(
                () ->
                    new RegistryException.Unauthorized(
                        "registry " + host + " answered 401 without a WWW-Authenticate challenge"));
    switch (c.scheme()) {
      case "basic" -> {
        Credentials.Login login =
            credentials
                .forHost(repo.registry())
                .orElseThrow(
                    () ->
                        new RegistryException.Unauthorized(
                            "registry "
                                + host
                                + " wants a login and the Docker config has none for "
                                + repo.registry()
                                + "; run docker login "
                                + repo.registry()
                                + " or set $DOCKER_CONFIG"));
        basic.put(host, basicHeader(login), CHALLENGE_TTL_NANOS);
      }
      case "bearer" -> {
        bearer.put(host, c, CHALLENGE_TTL_NANOS);
        token(repo, scope, c);
      }
      default ->
          throw new RegistryException.Unauthorized(
              "registry "
                  + host
                  + " asks for "
                  + c.scheme()
                  + " authentication, which we do not speak (Basic and Bearer only)");
    }
  }

  /**
   * A token for {@code scope} from the challenge's realm (the distribution token protocol), cached
   * until it expires.
   */
  private Token token(ImageReference repo, String scope, Challenge c) throws IOException {
    String host = repo.apiHost();
    String key = host + " " + scope;
    Optional<Token> cached = tokens.get(key);
    if (cached.isPresent()) return cached.get();
    String realm = c.params().getOrDefault("realm", "");
    URI realmUri;
    try {
      realmUri = URI.create(realm);
    } catch (IllegalArgumentException e) {
      throw new RegistryException.Unauthorized(
          "registry " + host + " names an invalid token realm");
    }
    if (realmUri.getScheme() == null
        || realmUri.getAuthority() == null
        || !(realmUri.getScheme().equals("https")
            || realmUri.getScheme().equals("http") && plain.test(realmUri.getAuthority()))) {
      throw new RegistryException.Unauthorized(
          "registry "
              + host
              + " sends us for a token to "
              + realm
              + "; only an https realm (or http on loopback or an --insecure-registry host) is used");
    }
    // The realm is a hop like any other: a registry must not send us into our own network. And a
    // login goes to a realm over HTTPS only (or to one the operator made plain HTTP).
    outbound.check(realmUri);
    Optional<Credentials.Login> login = credentials.forHost(repo.registry());
    String service = c.params().getOrDefault("service", "");
    StringBuilder q = new StringBuilder();
    if (!service.isEmpty())
      q.append("service=").append(URLEncoder.encode(service, StandardCharsets.UTF_8));
    q.append(q.length() > 0 ? "&" : "")
        .append("scope=")
        .append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
    HttpRequest.Builder b;
    if (login.isPresent() && login.get().isIdentityToken()) {
      // OAuth2 refresh-token grant (distribution's token spec): the identity token never goes in a
      // URL.
      String form =
          q
              + "&grant_type=refresh_token&client_id=custody&refresh_token="
              + URLEncoder.encode(login.get().secret(), StandardCharsets.UTF_8);
      b =
          HttpRequest.newBuilder(realmUri)
              .header("Content-Type", "application/x-www-form-urlencoded")
              .POST(HttpRequest.BodyPublishers.ofString(form));
    } else {
      b = HttpRequest.newBuilder(URI.create(realm + (realm.contains("?") ? "&" : "?") + q)).GET();
      login.ifPresent(l -> b.header("Authorization", basicHeader(l)));
    }
    Duration budget =
        deadline.remaining("before asking " + realmUri.getAuthority() + " for a token");
    BoundedHttp.Response r;
    try {
      r =
          BoundedHttp.send(
              http,
              b.timeout(budget).header("User-Agent", "custody/0.1").build(),
              MAX_TOKEN_RESPONSE_BYTES,
              budget);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (r.status() == 401 || r.status() == 403) {
      throw new RegistryException.Unauthorized(
          "the token service of "
              + host
              + " ("
              + realmUri.getAuthority()
              + ") refused "
              + (login.isPresent()
                  ? "the login for " + repo.registry()
                  : "an anonymous token; log in (docker login " + repo.registry() + ")")
              + " for "
              + scope
              + ": HTTP "
              + r.status());
    }
    if (r.status() != 200) {
      throw new RegistryException.Refused(
          r.status(), "the token service of " + host + " answered HTTP " + r.status());
    }
    JsonNode t = RegistryClient.json(r.body(), "the token of " + host);
    String token = t.path("token").asText(t.path("access_token").asText(""));
    if (token.length() > MAX_TOKEN) {
      throw new RegistryException.BadAnswer(
          "the token service of " + host + " answered a token of " + token.length() + " bytes");
    }
    if (token.isEmpty() || !token.matches("[\\x21-\\x7e]+")) {
      throw new RegistryException.BadAnswer(
          "the token service of " + host + " answered without a usable token");
    }
    // Expire a little early, so that a token never dies in flight; 60 s is the spec's default.
    long seconds = Math.max(10, Math.min(t.path("expires_in").asLong(60), 3600)) - 5;
    Token fresh = new Token("Bearer " + token, System.nanoTime() + seconds * 1_000_000_000L);
    tokens.put(key, fresh, seconds * 1_000_000_000L);
    return fresh;
  }

  private static String basicHeader(Credentials.Login l) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((l.username() + ":" + l.secret()).getBytes(StandardCharsets.UTF_8));
  }
}
