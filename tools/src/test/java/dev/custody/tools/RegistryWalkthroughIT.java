package dev.custody.tools;

import static dev.custody.tools.CliEndToEndTest.custody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.registry.AttachedBundles;
import dev.custody.registry.Credentials;
import dev.custody.registry.ImageReference;
import dev.custody.registry.Platform;
import dev.custody.registry.RegistryClient;
import dev.custody.registry.RegistryException;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.testing.OciLayouts;
import dev.custody.testing.TestCerts;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry walkthrough of docs/registries-and-admission.md against Debian's docker-registry
 * with htpasswd auth: images pushed with skopeo, three teams sign by reference (each on the image
 * below it), attach the chains as referrers (the tag schema: registry 2.8 has no referrers API),
 * and a verifier checks online and offline; a re-tagged image fails; a registry that refuses or
 * throttles is an error (exit 2), never "unsigned".
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RegistryWalkthroughIT {
  @TempDir static Path work;
  static CustodyServer server;
  static DockerRegistry registry;
  static String log;
  static String reg;

  @BeforeAll
  static void start() throws Exception {
    server =
        CustodyServer.start(
            ServerConfig.builder(work.resolve("data"))
                .origin("registry.test/custody")
                .anyPorts()
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> {});
    log = "127.0.0.1:" + server.grpcPort();
    registry = DockerRegistry.htpasswd(work.resolve("registry"), "ci", "s3cret");
    reg = registry.host();
    dockerConfig(work.resolve("docker"), reg, "ci", "s3cret");
    dockerConfig(work.resolve("docker-wrong"), reg, "ci", "wrong");
  }

  @AfterAll
  static void stop() {
    registry.close();
    server.close();
  }

  static void dockerConfig(Path dir, String host, String user, String password) throws Exception {
    Files.createDirectories(dir);
    String auth =
        Base64.getEncoder()
            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    Files.writeString(
        dir.resolve("config.json"), "{\"auths\":{\"" + host + "\":{\"auth\":\"" + auth + "\"}}}");
  }

  static String p(String name) {
    return work.resolve(name).toString();
  }

  /**
   * The options every registry command takes here: the log and the Docker config with the login.
   */
  static String[] with(String config, String... args) {
    String[] all = new String[args.length + 3];
    all[0] = args[0];
    all[1] = "--server";
    all[2] = log;
    all[3] = "--docker-config=" + p(config);
    System.arraycopy(args, 1, all, 4, args.length - 1);
    return all;
  }

  static CliEndToEndTest.Run ok(String... args) {
    CliEndToEndTest.Run r = custody(with("docker", args));
    assertEquals(0, r.code(), String.join(" ", args) + "\n" + r.out());
    return r;
  }

  // The verification service (order 2) serves verdicts on the images this walkthrough signs.
  @Test
  @Order(1)
  void threeTeamsSignByReferenceAttachAndVerifyOnlineAndOffline() throws Exception {
    Path oci = work.resolve("oci");
    OciLayouts.build(oci, 3, "registry walkthrough");
    DockerRegistry.skopeoPush(oci, "step0", reg + "/base/os:12", "ci:s3cret");
    DockerRegistry.skopeoPush(oci, "step1", reg + "/runtime/jre:17", "ci:s3cret");
    DockerRegistry.skopeoPush(oci, "step2", reg + "/apps/service:1.0", "ci:s3cret");
    for (String k : List.of("base", "runtime", "app"))
      CliEndToEndTest.ok("keygen", "--no-password", "--out", p(k));

    ok("sign", "--key", p("base.key"), reg + "/base/os:12");
    ok("attach", reg + "/base/os:12");
    CliEndToEndTest.Run runtime =
        ok("sign", "--key", p("runtime.key"), "--on", reg + "/base/os:12", reg + "/runtime/jre:17");
    assertTrue(runtime.out().contains("signed layer 1 of " + reg + "/runtime/jre"), runtime.out());
    ok("attach", reg + "/runtime/jre:17");

    String vkey =
        CliEndToEndTest.ok("info", "--server", log)
            .out()
            .lines()
            .filter(l -> l.startsWith("verifier_key "))
            .findFirst()
            .orElseThrow()
            .substring(13);
    Files.writeString(
        work.resolve("policy.json"),
        """
        {"log": {"origin": "registry.test/custody", "verifier_key": "%s"},
         "signers": [
           {"name": "base OS team", "public_key_file": "base.pub", "repositories": ["%s/base/*"], "layers": {"min": 0, "max": 0}},
           {"name": "runtime team", "public_key_file": "runtime.pub", "repositories": ["%s/runtime/*"], "layers": {"min": 1, "max": 1}},
           {"name": "application team", "public_key_file": "app.pub", "repositories": ["%s/apps/*"], "layers": {"min": 2, "max": 2}}
         ]}
        """
            .formatted(vkey, reg, reg, reg));
    // The application team checks the runtime image under its policy before signing on it.
    ok(
        "sign",
        "--key",
        p("app.key"),
        "--on",
        reg + "/runtime/jre:17",
        "--policy",
        p("policy.json"),
        reg + "/apps/service:1.0");

    String app = reg + "/apps/service:1.0";
    CliEndToEndTest.Run notYet =
        custody(
            with(
                "docker",
                "verify",
                "--checkpoint-store",
                p("store"),
                "--policy",
                p("policy.json"),
                "--offline",
                app));
    assertEquals(1, notYet.code(), notYet.out());
    assertTrue(notYet.out().contains("no Custody bundle is attached"), notYet.out());
    ok("attach", app);

    CliEndToEndTest.Run online =
        ok("verify", "--checkpoint-store", p("store"), "--policy", p("policy.json"), app);
    assertTrue(online.out().contains("VERIFIED: every layer"), online.out());
    CliEndToEndTest.Run offline =
        ok(
            "verify",
            "--checkpoint-store",
            p("store"),
            "--policy",
            p("policy.json"),
            "--offline",
            app);
    assertTrue(offline.out().contains("VERIFIED: every layer"), offline.out());

    // The chain is where other tools look for it: the referrers tag schema's index names the
    // bundle.
    RegistryClient client =
        RegistryClient.builder()
            .credentials(Credentials.dockerConfig(work.resolve("docker/config.json")))
            .build();
    RegistryClient.RemoteImage img = client.image(ImageReference.parse(app), Platform.DEFAULT);
    assertEquals(
        1, client.referrers(img.ref(), img.ref().digest(), AttachedBundles.ARTIFACT_TYPE).size());
    assertTrue(
        new String(
                client
                    .manifest(img.ref().withTag("sha256-" + img.ref().digest().substring(7)))
                    .bytes())
            .contains(AttachedBundles.ARTIFACT_TYPE));

    // Re-tagged: the tag now names an image nobody signed.
    Path other = work.resolve("oci-other");
    OciLayouts.build(other, 3, "someone else's build");
    DockerRegistry.skopeoPush(other, "step2", reg + "/apps/service:1.1", "ci:s3cret");
    CliEndToEndTest.Run unsigned =
        custody(
            with(
                "docker",
                "verify",
                "--checkpoint-store",
                p("store"),
                "--policy",
                p("policy.json"),
                reg + "/apps/service:1.1"));
    assertEquals(1, unsigned.code(), unsigned.out());
    assertTrue(unsigned.out().contains("NOT VERIFIED"), unsigned.out());
    // Re-tagged into another repository: the runtime image is signed, but not for apps/service.
    DockerRegistry.skopeoPush(oci, "step1", reg + "/apps/service:1.0", "ci:s3cret");
    CliEndToEndTest.Run moved =
        custody(
            with(
                "docker",
                "verify",
                "--checkpoint-store",
                p("store"),
                "--policy",
                p("policy.json"),
                app));
    assertEquals(1, moved.code(), moved.out());
    assertTrue(
        moved
            .out()
            .contains(
                "was signed for repository " + reg + "/runtime/jre, not " + reg + "/apps/service"),
        moved.out());
    DockerRegistry.skopeoPush(oci, "step2", reg + "/apps/service:1.0", "ci:s3cret");

    // 401: wrong password, named, exit 2.
    CliEndToEndTest.Run denied =
        custody(
            with(
                "docker-wrong",
                "verify",
                "--checkpoint-store",
                p("store"),
                "--policy",
                p("policy.json"),
                app));
    assertEquals(2, denied.code(), denied.out());
    assertTrue(denied.out().contains("401 Unauthorized"), denied.out());

    // A registry that throttles the listing: exit 2 naming 429, never "no bundle attached".
    try (FaultProxy proxy = new FaultProxy(reg)) {
      dockerConfig(work.resolve("docker-proxy"), proxy.host(), "ci", "s3cret");
      String viaProxy = proxy.host() + "/apps/service:1.0";
      proxy.fault = (m, path) -> path.contains("/manifests/sha256-") ? 429 : 0;
      CliEndToEndTest.Run throttled =
          custody(
              with(
                  "docker-proxy",
                  "verify",
                  "--checkpoint-store",
                  p("store"),
                  "--policy",
                  p("policy.json"),
                  "--offline",
                  viaProxy));
      assertEquals(2, throttled.code(), throttled.out());
      assertTrue(throttled.out().contains("429 Too Many Requests"), throttled.out());
      assertFalse(throttled.out().contains("no Custody bundle"), throttled.out());
      assertTrue(proxy.faulted.get() >= 4, "retried before giving up: " + proxy.faulted.get());

      // A registry failing every write: exit 2 naming the status, and nothing written.
      proxy.fault = (m, path) -> m.equals("GET") || m.equals("HEAD") ? 0 : 500;
      CliEndToEndTest.Run failing = custody(with("docker-proxy", "attach", viaProxy));
      assertEquals(2, failing.code(), failing.out());
      assertTrue(failing.out().contains("HTTP 500"), failing.out());
      assertEquals(0, proxy.writes.get());

      // 403 and 404 each named too.
      proxy.fault = (m, path) -> path.contains("/manifests/") ? 403 : 0;
      CliEndToEndTest.Run forbidden =
          custody(
              with(
                  "docker-proxy",
                  "verify",
                  "--checkpoint-store",
                  p("store"),
                  "--policy",
                  p("policy.json"),
                  viaProxy));
      assertEquals(2, forbidden.code(), forbidden.out());
      assertTrue(forbidden.out().contains("403 Forbidden"), forbidden.out());
      proxy.fault = (m, path) -> 0;
      CliEndToEndTest.Run missing =
          custody(
              with(
                  "docker-proxy",
                  "verify",
                  "--checkpoint-store",
                  p("store"),
                  "--policy",
                  p("policy.json"),
                  proxy.host() + "/apps/nothing:1"));
      assertEquals(2, missing.code(), missing.out());
      assertTrue(missing.out().contains("404 Not Found"), missing.out());
    }
  }

  /**
   * Writers racing on one subject's referrers tag (registry 2.8 has no compare-and-set): no entry
   * is lost.
   */
  @Test
  void concurrentAttachersKeepEveryEntryInTheReferrersTag() throws Exception {
    Path oci = work.resolve("oci-race");
    OciLayouts.build(oci, 1, "race");
    DockerRegistry.skopeoPush(oci, "step0", reg + "/race/img:1", "ci:s3cret");
    RegistryClient client =
        RegistryClient.builder()
            .credentials(Credentials.dockerConfig(work.resolve("docker/config.json")))
            .build();
    RegistryClient.RemoteImage img =
        client.image(ImageReference.parse(reg + "/race/img:1"), Platform.DEFAULT);
    int writers = 6;
    List<Thread> threads = new ArrayList<>();
    Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
    for (int i = 0; i < writers; i++) {
      byte[] payload = ("{\"writer\":" + i + "}").getBytes(StandardCharsets.UTF_8);
      Thread t =
          new Thread(
              () -> {
                try {
                  client.attach(
                      img.ref(),
                      img.manifest(),
                      "application/vnd.test.race",
                      "application/vnd.test.race",
                      payload,
                      Map.of());
                } catch (Throwable e) {
                  errors.add(e);
                }
              });
      threads.add(t);
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) t.join();
    assertTrue(errors.isEmpty(), errors.toString());
    assertEquals(
        writers,
        client.referrers(img.ref(), img.ref().digest(), "application/vnd.test.race").size());
  }

  @Test
  void aMissingLoginIsNamedNotReadAsUnsigned() {
    RegistryClient anonymous = RegistryClient.builder().credentials(Credentials.none()).build();
    RegistryException.Unauthorized e =
        Assertions.assertThrows(
            RegistryException.Unauthorized.class,
            () -> anonymous.manifest(ImageReference.parse(reg + "/base/os:12")));
    assertTrue(e.getMessage().contains("wants a login"), e.getMessage());
  }

  /**
   * custody verifier as a real process over HTTPS: a verdict, the same verdict from the cache, an
   * unsigned image, Gatekeeper's protocol, bad requests, and the metrics that count them.
   */
  @Test
  @Order(2)
  void theVerificationServiceAnswersBothProtocolsAndCaches() throws Exception {
    Files.createDirectories(work.resolve("certs"));
    TestCerts certs = new TestCerts(work.resolve("certs"), "verifier-test");
    TestCerts.Pem tls = certs.server("verifier");
    List<String> cmd =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp",
            System.getProperty("java.class.path"),
            CustodyCli.class.getName(),
            "verifier",
            "--listen",
            "127.0.0.1:0",
            "--policy",
            p("policy.json"),
            "--server",
            log,
            "--docker-config",
            p("docker"),
            "--checkpoint-store",
            p("service-store"),
            "--tls-cert",
            tls.cert().toString(),
            "--tls-key",
            tls.key().toString(),
            // The test's registry is on loopback: an internal address, allowed by name.
            "--allow-registry",
            reg);
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      assertTrue(
          line != null && line.startsWith("custody verifier listening on https://127.0.0.1:"),
          String.valueOf(line));
      String base = line.substring("custody verifier listening on ".length()).strip();
      HttpClient http = HttpClient.newBuilder().sslContext(trusting(certs.caCert)).build();
      String app = reg + "/apps/service:1.0";

      JsonNode first = post(http, base + "/v1/verify", "{\"image\": \"" + app + "\"}", 200);
      assertTrue(first.path("verified").asBoolean(), first.toString());
      assertFalse(first.path("cached").asBoolean(), first.toString());
      assertEquals(3, first.path("layers").size(), first.toString());
      assertEquals(
          reg + "/apps/service",
          first.path("layers").get(2).path("repository").asText(),
          first.toString());
      assertTrue(first.path("checkpoint_size").asLong() > 0, first.toString());
      assertTrue(first.path("manifest_digest").asText().startsWith("sha256:"), first.toString());
      JsonNode again = post(http, base + "/v1/verify", "{\"image\": \"" + app + "\"}", 200);
      assertTrue(
          again.path("verified").asBoolean() && again.path("cached").asBoolean(), again.toString());

      JsonNode unsigned =
          post(http, base + "/v1/verify", "{\"image\": \"" + reg + "/apps/service:1.1\"}", 200);
      assertFalse(unsigned.path("verified").asBoolean(), unsigned.toString());
      assertTrue(
          unsigned.path("reason").asText().contains("no chain in the log"), unsigned.toString());
      assertEquals("not-signed", unsigned.path("reason_class").asText(), unsigned.toString());

      JsonNode gk =
          post(
              http,
              base + "/gatekeeper",
              """
          {"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest",
           "request": {"keys": ["%s", "%s/apps/service:1.1", "Not A Reference"]}}"""
                  .formatted(app, reg),
              200);
      assertEquals("ProviderResponse", gk.path("kind").asText(), gk.toString());
      JsonNode items = gk.path("response").path("items");
      assertEquals(3, items.size(), gk.toString());
      assertEquals(app, items.get(0).path("key").asText());
      assertEquals("", items.get(0).path("error").asText(), gk.toString());
      assertTrue(items.get(0).path("value").path("verified").asBoolean(), gk.toString());
      assertTrue(items.get(1).path("error").asText().startsWith("not verified"), gk.toString());
      assertTrue(items.get(2).path("error").asText().startsWith("bad-reference:"), gk.toString());

      post(http, base + "/v1/verify", "not json", 400);
      post(http, base + "/v1/verify", "{\"image\": \"UPPER/Case\"}", 400);
      assertFalse(
          post(http, base + "/gatekeeper", "{\"kind\": \"Other\"}", 200)
              .path("response")
              .path("systemError")
              .asText()
              .isEmpty());
      assertEquals(
          405,
          http.send(
                  HttpRequest.newBuilder(URI.create(base + "/v1/verify")).build(),
                  HttpResponse.BodyHandlers.discarding())
              .statusCode());

      String metrics =
          http.send(
                  HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      // the repeated /v1/verify and the Gatekeeper key for the same image
      assertTrue(
          metrics.contains(
              "custody_verifier_verdicts_total{cached=\"true\",outcome=\"verified\"} 2"),
          metrics);
      assertTrue(
          metrics.contains(
              "custody_verifier_verdicts_total{cached=\"false\",outcome=\"not_verified\"}"),
          metrics);
      assertTrue(
          metrics.contains("custody_verifier_request_seconds_count{endpoint=\"/v1/verify\"}"),
          metrics);
    } finally {
      proc.destroy();
      proc.waitFor();
    }
  }

  /** CI signs the tarball it built before pushing it; the pushed image then verifies. */
  @Test
  @Order(3)
  void signAnArchiveBeforePushingIt() throws Exception {
    Path oci = work.resolve("oci-archive-src");
    OciLayouts.build(oci, 1, "archive");
    Path archive = work.resolve("base.tar");
    DockerRegistry.run(
        List.of(
            "/usr/bin/skopeo",
            "copy",
            "--insecure-policy",
            "--preserve-digests",
            "oci:" + oci + ":step0",
            "oci-archive:" + archive));
    String ref = reg + "/base/os:13";
    CliEndToEndTest.Run signed =
        ok("sign", "--key", p("base.key"), "--archive", archive.toString(), ref);
    assertTrue(signed.out().contains("after the push"), signed.out());
    CliEndToEndTest.Run before =
        custody(
            with(
                "docker",
                "verify",
                "--checkpoint-store",
                p("store"),
                "--policy",
                p("policy.json"),
                "--archive",
                archive.toString()));
    assertEquals(0, before.code(), before.out());
    DockerRegistry.run(
        List.of(
            "/usr/bin/skopeo",
            "copy",
            "--insecure-policy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            "ci:s3cret",
            "oci-archive:" + archive,
            "docker://" + ref));
    ok("attach", ref);
    CliEndToEndTest.Run offline =
        ok(
            "verify",
            "--checkpoint-store",
            p("store"),
            "--policy",
            p("policy.json"),
            "--offline",
            ref);
    assertTrue(offline.out().contains("VERIFIED: every layer"), offline.out());

    // A docker save of Docker before 25 holds no OCI manifest: nothing to sign yet, and it says so.
    Path legacy = work.resolve("legacy.tar");
    try (var out = new TarArchiveOutputStream(Files.newOutputStream(legacy))) {
      byte[] m =
          "[{\"Config\":\"abc.json\",\"RepoTags\":[\"app:1\"],\"Layers\":[]}]"
              .getBytes(StandardCharsets.UTF_8);
      var e = new TarArchiveEntry("manifest.json");
      e.setSize(m.length);
      out.putArchiveEntry(e);
      out.write(m);
      out.closeArchiveEntry();
    }
    CliEndToEndTest.Run refused =
        custody(
            with("docker", "sign", "--key", p("base.key"), "--archive", legacy.toString(), ref));
    assertEquals(2, refused.code(), refused.out());
    assertTrue(refused.out().contains("docker save archive without an OCI layout"), refused.out());
  }

  static JsonNode post(HttpClient http, String url, String body, int status) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(status, r.statusCode(), r.body());
    return new ObjectMapper().readTree(r.body());
  }

  static SSLContext trusting(Path caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    try (var in = Files.newInputStream(caPem)) {
      ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
