package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.custody.http.OutboundPolicy;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.registry.Credentials;
import dev.custody.registry.Platform;
import dev.custody.registry.RegistryClient;
import dev.custody.serving.Routes;
import dev.custody.testing.TestCerts;
import dev.custody.verify.TrustPolicy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The verification service as the cluster's Pods can reach it: sixteen registries that accept and
 * never answer cannot hold it past its deadline nor delay its health check; an image of a
 * repository no signer names costs no request; a registry on an internal address is refused with a
 * reason class, and nothing of what answered there reaches the caller.
 */
class VerifierUnderAttackTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open) c.close();
  }

  /** Accepts connections and never answers; returns its port. */
  private int tarpit() throws IOException {
    ServerSocket s = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    List<Socket> held = new CopyOnWriteArrayList<>();
    Thread t =
        new Thread(
            () -> {
              try {
                while (true) held.add(s.accept());
              } catch (IOException closed) {
                // the test is over
              }
            });
    t.setDaemon(true);
    t.start();
    open.add(
        () -> {
          s.close();
          for (Socket c : held) c.close();
        });
    return s.getLocalPort();
  }

  private String policy(List<String> repositories) {
    Ed25519NoteKeys.Signer log = Ed25519NoteKeys.generate("attack.test/log", new SecureRandom());
    StringBuilder signers = new StringBuilder();
    for (String r : repositories) {
      byte[] id = new byte[32];
      new SecureRandom().nextBytes(id);
      if (signers.length() > 0) signers.append(',');
      signers
          .append("{\"name\":\"team\",\"key_id\":\"")
          .append(HexFormat.of().formatHex(id))
          .append("\",\"repositories\":[\"")
          .append(r)
          .append("\"]}");
    }
    return "{\"log\":{\"origin\":\"attack.test/log\",\"verifier_key\":\""
        + log.verifier().vkey()
        + "\"},\"signers\":["
        + signers
        + "]}";
  }

  /** An offline verification service (attached bundles: every verdict asks the registry). */
  private int service(String policy, Set<String> allowed, Duration timeout) throws Exception {
    TrustPolicy p = TrustPolicy.parse(policy.getBytes(StandardCharsets.UTF_8));
    RegistryClient registry =
        RegistryClient.builder()
            .credentials(Credentials.none())
            .outbound(OutboundPolicy.publicOnly(allowed))
            .build();
    ReferenceVerifier verifier =
        new ReferenceVerifier(p, registry, Platform.parse("linux/amd64"), null, null);
    VerificationService svc =
        new VerificationService(
            verifier,
            registry,
            null,
            Duration.ofMinutes(5),
            Duration.ofSeconds(10),
            new VerificationService.Limits(timeout, 64, 16),
            System::nanoTime);
    dev.custody.serving.HttpServer ep =
        dev.custody.serving.HttpServer.builder()
            .maxRequestBytes(VerifierCommand.MAX_REQUEST_BYTES)
            .start(svc.routes());
    open.add(ep);
    open.add(svc::close);
    return ep.port();
  }

  private static HttpResponse<String> post(HttpClient http, int port, String path, String body)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void tarpitRegistriesGetTimeoutsByTheDeadlineAndHealthStaysFast() throws Exception {
    List<Integer> pits = new ArrayList<>();
    for (int i = 0; i < 16; i++) pits.add(tarpit());
    Set<String> allowed = new HashSet<>();
    List<String> repos = new ArrayList<>();
    for (int p : pits) {
      allowed.add("127.0.0.1:" + p);
      repos.add("127.0.0.1:" + p + "/*");
    }
    Duration deadline = Duration.ofSeconds(3);
    int port = service(policy(repos), allowed, deadline);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    AtomicBoolean done = new AtomicBoolean();
    AtomicLong slowestHealth = new AtomicLong();
    Thread health =
        new Thread(
            () -> {
              HttpClient h = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
              while (!done.get()) {
                long t0 = System.nanoTime();
                try {
                  HttpResponse<String> r =
                      h.send(
                          HttpRequest.newBuilder(
                                  URI.create("http://127.0.0.1:" + port + "/healthz"))
                              .timeout(Duration.ofSeconds(5))
                              .build(),
                          HttpResponse.BodyHandlers.ofString());
                  if (r.statusCode() != 200) slowestHealth.set(Long.MAX_VALUE);
                } catch (Exception e) {
                  slowestHealth.set(Long.MAX_VALUE);
                }
                slowestHealth.accumulateAndGet(System.nanoTime() - t0, Math::max);
                try {
                  Thread.sleep(100);
                } catch (InterruptedException e) {
                  return;
                }
              }
            });
    health.start();
    List<CompletableFuture<HttpResponse<String>>> asks = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < 32; i++) {
      String key = "127.0.0.1:" + pits.get(i % 16) + "/team/app:" + i;
      String body =
          "{\"apiVersion\":\"externaldata.gatekeeper.sh/v1beta1\",\"kind\":\"ProviderRequest\","
              + "\"request\":{\"keys\":[\""
              + key
              + "\"]}}";
      asks.add(
          http.sendAsync(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/gatekeeper"))
                  .timeout(Duration.ofSeconds(30))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> a : asks) {
      HttpResponse<String> r = a.join();
      assertEquals(200, r.statusCode());
      JsonNode item = JSON.readTree(r.body()).path("response").path("items").get(0);
      assertTrue(item.path("error").asText().startsWith("timeout:"), r.body());
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    done.set(true);
    health.join();
    assertTrue(ms < deadline.toMillis() + 2_000, "the last answer came after " + ms + " ms");
    assertTrue(
        slowestHealth.get() < 1_000_000_000L,
        "/healthz took " + slowestHealth.get() / 1_000_000 + " ms under the tarpit load");
  }

  @Test
  void unnamedRepositoriesAndInternalRegistriesAreRefusedWithoutOracles() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer internal = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    internal.createContext(
        "/",
        x -> {
          seen.add(x.getRequestURI().toString());
          byte[] b = "SECRET internal service banner".getBytes(StandardCharsets.UTF_8);
          x.sendResponseHeaders(500, b.length);
          x.getResponseBody().write(b);
          x.close();
        });
    internal.start();
    open.add(() -> internal.stop(0));
    String in = "127.0.0.1:" + internal.getAddress().getPort();
    // The policy names the internal host's repositories, but the operator did not allow it.
    int port = service(policy(List.of(in + "/named/*")), Set.of(), Duration.ofSeconds(5));
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> unnamed =
        post(http, port, "/v1/verify", "{\"image\":\"" + in + "/other/app:1\"}");
    assertEquals(200, unnamed.statusCode());
    JsonNode u = JSON.readTree(unnamed.body());
    assertFalse(u.path("verified").asBoolean());
    assertEquals("policy", u.path("reason_class").asText(), unnamed.body());
    assertTrue(u.path("reason").asText().contains("no policy signer names repository"));
    HttpResponse<String> named =
        post(http, port, "/v1/verify", "{\"image\":\"" + in + "/named/app:1\"}");
    assertEquals(502, named.statusCode(), named.body());
    JsonNode n = JSON.readTree(named.body());
    assertEquals("registry-not-allowed", n.path("reason_class").asText(), named.body());
    assertEquals(List.of(), seen, "the internal service was never asked");
    // Allowed, it is asked; what it answered is not told to the caller.
    int allowedPort = service(policy(List.of(in + "/named/*")), Set.of(in), Duration.ofSeconds(5));
    HttpResponse<String> r =
        post(http, allowedPort, "/v1/verify", "{\"image\":\"" + in + "/named/app:1\"}");
    assertFalse(seen.isEmpty());
    assertFalse(r.body().contains("SECRET"), r.body());
    assertEquals(
        "registry-unavailable", JSON.readTree(r.body()).path("reason_class").asText(), r.body());
    HttpResponse<String> bad = post(http, port, "/v1/verify", "{\"image\":\"UPPER/Case\"}");
    assertEquals(400, bad.statusCode());
    assertEquals("bad-reference", JSON.readTree(bad.body()).path("reason_class").asText());
  }

  @Test
  void withAClientCaOnlyCallersHoldingItsCertificatesAreAnswered(@TempDir Path dir)
      throws Exception {
    TestCerts certs = new TestCerts(dir, "verifier-ca");
    TestCerts.Pem server = certs.server("verifier");
    TestCerts.Pem caller = certs.client("gatekeeper");
    Files.createDirectories(dir.resolve("o"));
    TestCerts other = new TestCerts(dir.resolve("o"), "other");
    dev.custody.serving.HttpServer ep =
        dev.custody.serving.HttpServer.builder()
            .tls(VerifierCommand.serverTls(server.cert(), server.key(), certs.caCert))
            .start(
                Routes.builder()
                    .get("/healthz", r -> dev.custody.serving.HttpResponse.text(200, "ok\n"))
                    .build());
    open.add(ep);
    URI health = URI.create("https://127.0.0.1:" + ep.port() + "/healthz");
    // Without a client certificate, or with one of another CA: no answer.
    for (TestCerts.Pem who : Arrays.asList(null, other.client("x"))) {
      HttpClient c = HttpClient.newBuilder().sslContext(ssl(certs.caCert, who)).build();
      assertThrows(
          IOException.class,
          () ->
              c.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()),
          String.valueOf(who));
    }
    // With the CA's: answered.
    HttpClient known = HttpClient.newBuilder().sslContext(ssl(certs.caCert, caller)).build();
    assertEquals(
        200,
        known
            .send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString())
            .statusCode());
  }

  /** A TLS context trusting {@code ca}, presenting {@code me} when given. */
  private static SSLContext ssl(Path ca, TestCerts.Pem me) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    CertificateFactory x509 = CertificateFactory.getInstance("X.509");
    try (var in = Files.newInputStream(ca)) {
      trust.setCertificateEntry("ca", x509.generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(trust);
    KeyManager[] kms = null;
    if (me != null) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      byte[] der =
          Base64.getMimeDecoder()
              .decode(Files.readString(me.key()).replaceAll("-----[A-Z ]+-----", "").strip());
      PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
      try (var in = Files.newInputStream(me.cert())) {
        ks.setKeyEntry("me", key, new char[0], new Certificate[] {x509.generateCertificate(in)});
      }
      KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
      kmf.init(ks, new char[0]);
      kms = kmf.getKeyManagers();
    }
    SSLContext c = SSLContext.getInstance("TLS");
    c.init(kms, tmf.getTrustManagers(), null);
    return c;
  }
}
