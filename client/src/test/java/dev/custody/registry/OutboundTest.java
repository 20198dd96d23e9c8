package dev.custody.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.custody.http.OutboundPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A registry client that fetches on a caller's behalf cannot be pointed into its own network: a
 * stand-in internal service receives no request, whether the image names it, a registry redirects
 * to it, names it as its token realm or as its next referrers page; credentials stay with the
 * registry that asked for them; a token or a listing of any size costs a bounded amount.
 */
class OutboundTest {
  private final List<HttpServer> servers = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() {
    servers.forEach(s -> s.stop(0));
  }

  /** A server on loopback whose every request is recorded and then handled by {@code h}. */
  private HttpServer serve(List<String> seen, Consumer<HttpExchange> h) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.createContext(
        "/",
        x -> {
          seen.add(
              x.getRequestMethod()
                  + " "
                  + x.getRequestURI()
                  + " auth="
                  + x.getRequestHeaders().getFirst("Authorization"));
          x.getRequestBody().readAllBytes();
          h.accept(x);
          x.close();
        });
    s.start();
    servers.add(s);
    return s;
  }

  private static void send(HttpExchange x, int status, String body, String... headers) {
    try {
      for (int i = 0; i < headers.length; i += 2)
        x.getResponseHeaders().add(headers[i], headers[i + 1]);
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
      if (b.length > 0) x.getResponseBody().write(b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String at(HttpServer s) {
    return "127.0.0.1:" + s.getAddress().getPort();
  }

  private static RegistryClient client(Set<String> allowed, Credentials c) {
    return RegistryClient.builder()
        .credentials(c)
        .outbound(OutboundPolicy.publicOnly(allowed))
        .retries(0, Duration.ofMillis(10))
        .build();
  }

  private static final String SUBJECT = "sha256:" + "ab".repeat(32);

  @Test
  void theInternalServiceIsNeverReachedThroughAnyHop() throws Exception {
    List<String> internalSeen = new CopyOnWriteArrayList<>();
    HttpServer internal = serve(internalSeen, x -> send(x, 200, "{}"));
    String in = at(internal);
    List<String> regSeen = new CopyOnWriteArrayList<>();
    HttpServer registry =
        serve(
            regSeen,
            x -> {
              String p = x.getRequestURI().getPath();
              if (p.contains("/redirect/"))
                send(x, 307, "", "Location", "http://" + in + "/v2/secret");
              else if (p.contains("/realm/"))
                send(
                    x,
                    401,
                    "",
                    "WWW-Authenticate",
                    "Bearer realm=\"http://" + in + "/token\",service=\"r\"");
              else if (p.contains("/referrers/"))
                send(
                    x,
                    200,
                    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}",
                    "Content-Type",
                    "application/vnd.oci.image.index.v1+json",
                    "Link",
                    "<http://" + in + "/v2/next?page=2>; rel=\"next\"");
              else send(x, 404, "");
            });
    String reg = at(registry);
    RegistryClient c = client(Set.of(reg), Credentials.none());
    // The image names the internal service itself.
    OutboundPolicy.RefusedException direct =
        assertThrows(
            OutboundPolicy.RefusedException.class,
            () -> c.manifest(ImageReference.parse(in + "/a/b:c")));
    assertTrue(direct.getMessage().contains("internal address"), direct.getMessage());
    // A registry that is allowed redirects there, names it as its token realm, or as a next page.
    assertThrows(
        OutboundPolicy.RefusedException.class,
        () -> c.manifest(ImageReference.parse(reg + "/redirect/x:1")));
    assertThrows(
        OutboundPolicy.RefusedException.class,
        () -> c.manifest(ImageReference.parse(reg + "/realm/x:1")));
    OutboundPolicy.RefusedException page =
        assertThrows(
            OutboundPolicy.RefusedException.class,
            () ->
                client(Set.of(reg), Credentials.none())
                    .referrers(ImageReference.parse(reg + "/pages/x:1"), SUBJECT, null));
    assertTrue(page.getMessage().contains("internal address"), page.getMessage());
    assertEquals(List.of(), internalSeen, "the internal service heard nothing");
    assertEquals(3, regSeen.size(), "the allowed registry was asked: " + regSeen);
    // (A client whose registry named an internal realm keeps refusing it: the challenge is kept.)
    assertThrows(
        OutboundPolicy.RefusedException.class,
        () -> c.referrers(ImageReference.parse(reg + "/pages/x:1"), SUBJECT, null));
    // Allowed by name, the same service is used.
    RegistryClient both = client(Set.of(reg, in), Credentials.none());
    both.referrers(ImageReference.parse(reg + "/pages/x:1"), SUBJECT, null);
    assertEquals(1, internalSeen.size(), String.valueOf(internalSeen));
  }

  @Test
  void aNextPageOnAnotherPortGetsNoCredentialsAndItsChallengeIsNotTheRegistrys() throws Exception {
    List<String> otherSeen = new CopyOnWriteArrayList<>();
    HttpServer other =
        serve(otherSeen, x -> send(x, 401, "", "WWW-Authenticate", "Basic realm=\"elsewhere\""));
    List<String> regSeen = new CopyOnWriteArrayList<>();
    HttpServer registry =
        serve(
            regSeen,
            x -> {
              if (x.getRequestHeaders().getFirst("Authorization") == null) {
                send(x, 401, "", "WWW-Authenticate", "Basic realm=\"registry\"");
                return;
              }
              send(
                  x,
                  200,
                  "{\"schemaVersion\":2,\"manifests\":[]}",
                  "Link",
                  "<http://" + at(other) + "/v2/next>; rel=\"next\"");
            });
    String reg = at(registry);
    RegistryClient c =
        client(Set.of(reg, at(other)), host -> Optional.of(new Credentials.Login("ci", "s3cret")));
    RegistryException e =
        assertThrows(
            RegistryException.Unauthorized.class,
            () -> c.referrers(ImageReference.parse(reg + "/team/app:1"), SUBJECT, null));
    assertEquals(1, otherSeen.size(), String.valueOf(otherSeen));
    assertTrue(otherSeen.get(0).endsWith("auth=null"), "credentials went elsewhere: " + otherSeen);
    assertTrue(regSeen.stream().anyMatch(r -> r.contains("auth=Basic")), String.valueOf(regSeen));
    // The other server's 401 did not replace the registry's challenge: the registry still works.
    regSeen.clear();
    assertThrows(
        RegistryException.Unauthorized.class,
        () -> c.referrers(ImageReference.parse(reg + "/team/app:1"), SUBJECT, null));
    assertTrue(regSeen.get(0).contains("auth=Basic"), String.valueOf(regSeen));
    assertFalse(e.getMessage().contains("s3cret"));
  }

  /** A registry that answers every request 401, sending the client to {@code realm} for a token. */
  private HttpServer sendingTo(HttpServer realm) throws IOException {
    String challenge = "Bearer realm=\"http://" + at(realm) + "/token\",service=\"r\"";
    return serve(
        new CopyOnWriteArrayList<>(), x -> send(x, 401, "", "WWW-Authenticate", challenge));
  }

  @Test
  void aTokenOfAMegabyteIsRefusedAndNothingIsKept() throws Exception {
    String big = "{\"token\":\"" + "t".repeat(1 << 20) + "\"}";
    HttpServer realm = serve(new CopyOnWriteArrayList<>(), x -> send(x, 200, big));
    HttpServer registry = sendingTo(realm);
    RegistryClient c = client(Set.of(at(registry), at(realm)), Credentials.none());
    IOException e =
        assertThrows(
            IOException.class, () -> c.manifest(ImageReference.parse(at(registry) + "/a/b:1")));
    assertTrue(e.getMessage().contains("bytes"), e.getMessage());
    // An 8 KiB token is the most used: one of 9 KiB is refused too.
    String nine = "{\"token\":\"" + "t".repeat(9 << 10) + "\"}";
    HttpServer realm2 = serve(new CopyOnWriteArrayList<>(), x -> send(x, 200, nine));
    HttpServer registry2 = sendingTo(realm2);
    RegistryClient c2 = client(Set.of(at(registry2), at(realm2)), Credentials.none());
    RegistryException.BadAnswer nineK =
        assertThrows(
            RegistryException.BadAnswer.class,
            () -> c2.manifest(ImageReference.parse(at(registry2) + "/a/b:1")));
    assertTrue(nineK.getMessage().contains("token of 9216 bytes"), nineK.getMessage());
  }

  @Test
  void aListingOfHalfAMillionReferrersIsRefusedAtOnce() throws Exception {
    StringBuilder page = new StringBuilder("{\"schemaVersion\":2,\"manifests\":[");
    for (int i = 0; i < 30_000; i++) {
      if (i > 0) page.append(',');
      page.append("{\"mediaType\":\"a\",\"digest\":\"sha256:")
          .append(String.format("%064x", i))
          .append("\",\"size\":1}");
    }
    String body = page.append("]}").toString();
    HttpServer registry =
        serve(
            new CopyOnWriteArrayList<>(),
            x ->
                send(
                    x, 200, body, "Link", "</v2/a/b/referrers/" + SUBJECT + "?n=2>; rel=\"next\""));
    RegistryClient c = client(Set.of(at(registry)), Credentials.none());
    long t0 = System.nanoTime();
    RegistryException.BadAnswer e =
        assertThrows(
            RegistryException.BadAnswer.class,
            () -> c.referrers(ImageReference.parse(at(registry) + "/a/b:1"), SUBJECT, null));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(e.getMessage().contains("more than 1024 referrers"), e.getMessage());
    assertTrue(ms < 1_000, "refused after " + ms + " ms");
  }

  @Test
  void internalAddressesAreKnownInEveryForm() throws Exception {
    for (String a :
        List.of(
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1")) {
      assertTrue(OutboundPolicy.internal(InetAddress.getByName(a)), a);
    }
    for (String a : List.of("8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "151.101.1.1"))
      assertFalse(OutboundPolicy.internal(InetAddress.getByName(a)), a);
    // A public name that resolves inside is refused too (the check is after resolution).
    OutboundPolicy p =
        OutboundPolicy.publicOnly(
            Set.of(), h -> new InetAddress[] {InetAddress.getByName("10.0.0.7")});
    assertThrows(
        OutboundPolicy.RefusedException.class,
        () -> p.check(URI.create("https://registry.example/v2/")));
    assertThrows(
        OutboundPolicy.RefusedException.class, () -> p.check(URI.create("file:///etc/passwd")));
  }
}
