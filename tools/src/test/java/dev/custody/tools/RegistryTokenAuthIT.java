package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.custody.registry.Credentials;
import dev.custody.registry.ImageReference;
import dev.custody.registry.Platform;
import dev.custody.registry.RegistryClient;
import dev.custody.registry.RegistryException;
import dev.custody.testing.OciLayouts;
import dev.custody.testing.TestCerts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bearer-token auth as Docker Hub, GHCR and Harbor do it, against the real registry: Debian's
 * docker-registry in token mode trusts our test CA, and a token issuer (the test's own, as the
 * distribution token spec describes: Basic login, ES256 JWT with an x5c chain, access claims per
 * scope) hands out tokens. Our client follows the registry's challenge to the issuer, pulls, pushes
 * a referrer, and reuses its tokens; a wrong password and no login are named as 401s.
 */
class RegistryTokenAuthIT {
  static final String SERVICE = "custody-test-registry";
  static final String ISSUER = "custody-test-issuer";
  @TempDir static Path work;
  static DockerRegistry registry;
  static HttpServer issuer;
  static final AtomicInteger tokensIssued = new AtomicInteger();
  static PrivateKey signingKey;
  static String x5c;

  @BeforeAll
  static void start() throws Exception {
    Files.createDirectories(work.resolve("certs"));
    TestCerts certs = new TestCerts(work.resolve("certs"), "token-ca");
    TestCerts.Pem signer = certs.server("token-signer");
    signingKey =
        KeyFactory.getInstance("EC")
            .generatePrivate(new PKCS8EncodedKeySpec(pemBody(signer.key())));
    try (var in = Files.newInputStream(signer.cert())) {
      x5c =
          Base64.getEncoder()
              .encodeToString(
                  CertificateFactory.getInstance("X.509").generateCertificate(in).getEncoded());
    }
    issuer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    issuer.createContext("/token", RegistryTokenAuthIT::token);
    issuer.start();
    registry =
        DockerRegistry.token(
            work.resolve("registry"),
            "http://127.0.0.1:" + issuer.getAddress().getPort() + "/token",
            SERVICE,
            ISSUER,
            certs.caCert);
  }

  @AfterAll
  static void stop() {
    registry.close();
    issuer.stop(0);
  }

  static byte[] pemBody(Path pem) throws Exception {
    String s = Files.readString(pem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return Base64.getDecoder().decode(s);
  }

  /**
   * The token endpoint: user "ci" with password "s3cret" gets what it asks for; anyone else gets
   * 401.
   */
  static void token(HttpExchange ex) throws IOException {
    try (ex) {
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      String expected =
          "Basic "
              + Base64.getEncoder().encodeToString("ci:s3cret".getBytes(StandardCharsets.UTF_8));
      if (!expected.equals(auth)) {
        ex.sendResponseHeaders(401, -1);
        return;
      }
      Map<String, String> q = new HashMap<>();
      for (String kv : ex.getRequestURI().getRawQuery().split("&")) {
        String[] p = kv.split("=", 2);
        q.put(p[0], URLDecoder.decode(p[1], StandardCharsets.UTF_8));
      }
      ObjectMapper json = new ObjectMapper();
      long now = System.currentTimeMillis() / 1000;
      ObjectNode claims =
          json.createObjectNode()
              .put("iss", ISSUER)
              .put("sub", "ci")
              .put("aud", q.get("service"))
              .put("exp", now + 300)
              .put("nbf", now - 10)
              .put("iat", now)
              .put("jti", UUID.randomUUID().toString());
      var access = claims.putArray("access");
      String[] scope = q.getOrDefault("scope", "").split(":");
      if (scope.length == 3) {
        var a = access.addObject().put("type", scope[0]).put("name", scope[1]).putArray("actions");
        for (String action : scope[2].split(",")) a.add(action);
      }
      ObjectNode header = json.createObjectNode().put("typ", "JWT").put("alg", "ES256");
      header.putArray("x5c").add(x5c);
      Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
      String signingInput =
          b64.encodeToString(json.writeValueAsBytes(header))
              + "."
              + b64.encodeToString(json.writeValueAsBytes(claims));
      Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
      s.initSign(signingKey);
      s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
      String jwt = signingInput + "." + b64.encodeToString(s.sign());
      tokensIssued.incrementAndGet();
      byte[] body =
          json.writeValueAsBytes(json.createObjectNode().put("token", jwt).put("expires_in", 300));
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  static Credentials login(String password) {
    return host -> Optional.of(new Credentials.Login("ci", password));
  }

  @Test
  void tokensFromTheChallengesRealmPullPushAndAreReused() throws Exception {
    Path oci = work.resolve("oci");
    OciLayouts.build(oci, 2, "token auth");
    DockerRegistry.skopeoPush(oci, "step1", registry.host() + "/team/app:1", "ci:s3cret");

    RegistryClient client = RegistryClient.builder().credentials(login("s3cret")).build();
    ImageReference ref = ImageReference.parse(registry.host() + "/team/app:1");
    int before = tokensIssued.get();
    RegistryClient.RemoteImage img = client.image(ref, Platform.DEFAULT);
    assertEquals(2, img.image().layers());
    client.image(ref, Platform.DEFAULT);
    assertEquals(1, tokensIssued.get() - before, "one pull token for the repository, reused");

    client.attach(
        img.ref(),
        img.manifest(),
        "application/vnd.test.token",
        "application/vnd.test.token",
        "{}".getBytes(StandardCharsets.UTF_8),
        Map.of());
    assertEquals(
        1, client.referrers(img.ref(), img.ref().digest(), "application/vnd.test.token").size());
    assertEquals(2, tokensIssued.get() - before, "a second token, for pull,push");

    RegistryException.Unauthorized wrong =
        assertThrows(
            RegistryException.Unauthorized.class,
            () ->
                RegistryClient.builder()
                    .credentials(login("wrong"))
                    .build()
                    .image(ref, Platform.DEFAULT));
    assertTrue(wrong.getMessage().contains("refused the login"), wrong.getMessage());
    RegistryException.Unauthorized none =
        assertThrows(
            RegistryException.Unauthorized.class,
            () ->
                RegistryClient.builder()
                    .credentials(Credentials.none())
                    .build()
                    .image(ref, Platform.DEFAULT));
    assertTrue(none.getMessage().contains("anonymous"), none.getMessage());
  }
}
