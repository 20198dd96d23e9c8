package dev.custody.tools;

import static dev.custody.tools.CliEndToEndTest.custody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.registry.AttachedBundles;
import dev.custody.registry.Credentials;
import dev.custody.registry.ImageReference;
import dev.custody.registry.RegistryClient;
import dev.custody.registry.RegistryException;
import dev.custody.server.CustodyServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's registry walkthrough against Debian's docker-registry with htpasswd auth: images
 * pushed with skopeo, three teams sign by reference (each on the image below it), attach the
 * chains as referrers (the tag schema: registry 2.8 has no referrers API), and a verifier checks
 * online and offline; a re-tagged image fails; a registry that refuses or throttles is an error
 * (exit 2), never "unsigned".
 */
class RegistryWalkthroughTest {
  @TempDir static Path work;
  static CustodyServer server;
  static DockerRegistry registry;
  static String log;
  static String reg;

  @BeforeAll
  static void start() throws Exception {
    server = CustodyServer.start(new CustodyServer.Config(work.resolve("data"), Optional.of("registry.test/custody"),
        Optional.empty(), "127.0.0.1", 0, 0, Optional.empty(), false, 1024, 256), (n, t) -> { });
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
    String auth = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    Files.writeString(dir.resolve("config.json"), "{\"auths\":{\"" + host + "\":{\"auth\":\"" + auth + "\"}}}");
  }

  static String p(String name) {
    return work.resolve(name).toString();
  }

  /** The options every registry command takes here: the log and the Docker config with the login. */
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

  @Test
  void threeTeamsSignByReferenceAttachAndVerifyOnlineAndOffline() throws Exception {
    Path oci = work.resolve("oci");
    OciLayouts.build(oci, 3, "registry walkthrough");
    DockerRegistry.skopeoPush(oci, "step0", reg + "/base/os:12", "ci:s3cret");
    DockerRegistry.skopeoPush(oci, "step1", reg + "/runtime/jre:17", "ci:s3cret");
    DockerRegistry.skopeoPush(oci, "step2", reg + "/apps/service:1.0", "ci:s3cret");
    for (String k : List.of("base", "runtime", "app")) CliEndToEndTest.ok("keygen", "--out", p(k));

    ok("sign", "--key", p("base.key"), reg + "/base/os:12");
    ok("attach", reg + "/base/os:12");
    CliEndToEndTest.Run runtime = ok("sign", "--key", p("runtime.key"), "--on", reg + "/base/os:12", reg + "/runtime/jre:17");
    assertTrue(runtime.out().contains("signed layer 1 of " + reg + "/runtime/jre"), runtime.out());
    ok("attach", reg + "/runtime/jre:17");

    String vkey = CliEndToEndTest.ok("info", "--server", log).out().lines().filter(l -> l.startsWith("verifier_key "))
        .findFirst().orElseThrow().substring(13);
    Files.writeString(work.resolve("policy.json"), """
        {"log": {"origin": "registry.test/custody", "verifier_key": "%s"},
         "signers": [
           {"name": "base OS team", "public_key_file": "base.pub", "repositories": ["%s/base/*"], "layers": {"min": 0, "max": 0}},
           {"name": "runtime team", "public_key_file": "runtime.pub", "repositories": ["%s/runtime/*"], "layers": {"min": 1, "max": 1}},
           {"name": "application team", "public_key_file": "app.pub", "repositories": ["%s/apps/*"], "layers": {"min": 2, "max": 2}}
         ]}
        """.formatted(vkey, reg, reg, reg));
    // The application team checks the runtime image under its policy before signing on it.
    ok("sign", "--key", p("app.key"), "--on", reg + "/runtime/jre:17", "--policy", p("policy.json"), reg + "/apps/service:1.0");

    String app = reg + "/apps/service:1.0";
    CliEndToEndTest.Run notYet = custody(with("docker", "verify", "--policy", p("policy.json"), "--offline", app));
    assertEquals(1, notYet.code(), notYet.out());
    assertTrue(notYet.out().contains("no Custody bundle is attached"), notYet.out());
    ok("attach", app);

    CliEndToEndTest.Run online = ok("verify", "--policy", p("policy.json"), "--checkpoint-store", p("store"), app);
    assertTrue(online.out().contains("VERIFIED: every layer"), online.out());
    CliEndToEndTest.Run offline = ok("verify", "--policy", p("policy.json"), "--offline", app);
    assertTrue(offline.out().contains("VERIFIED: every layer"), offline.out());

    // The chain is where other tools look for it: the referrers tag schema's index names the bundle.
    RegistryClient client = RegistryClient.builder().credentials(Credentials.dockerConfig(work.resolve("docker/config.json"))).build();
    RegistryClient.RemoteImage img = client.image(ImageReference.parse(app), dev.custody.registry.Platform.DEFAULT);
    assertEquals(1, client.referrers(img.ref(), img.ref().digest(), AttachedBundles.ARTIFACT_TYPE).size());
    assertTrue(new String(client.manifest(img.ref().withTag("sha256-" + img.ref().digest().substring(7))).bytes())
        .contains(AttachedBundles.ARTIFACT_TYPE));

    // Re-tagged: the tag now names an image nobody signed.
    Path other = work.resolve("oci-other");
    OciLayouts.build(other, 3, "someone else's build");
    DockerRegistry.skopeoPush(other, "step2", reg + "/apps/service:1.1", "ci:s3cret");
    CliEndToEndTest.Run unsigned = custody(with("docker", "verify", "--policy", p("policy.json"), reg + "/apps/service:1.1"));
    assertEquals(1, unsigned.code(), unsigned.out());
    assertTrue(unsigned.out().contains("NOT VERIFIED"), unsigned.out());
    // Re-tagged into another repository: the runtime image is signed, but not for apps/service.
    DockerRegistry.skopeoPush(oci, "step1", reg + "/apps/service:1.0", "ci:s3cret");
    CliEndToEndTest.Run moved = custody(with("docker", "verify", "--policy", p("policy.json"), app));
    assertEquals(1, moved.code(), moved.out());
    assertTrue(moved.out().contains("was signed for repository " + reg + "/runtime/jre, not " + reg + "/apps/service"), moved.out());
    DockerRegistry.skopeoPush(oci, "step2", reg + "/apps/service:1.0", "ci:s3cret");

    // 401: wrong password, named, exit 2.
    CliEndToEndTest.Run denied = custody(with("docker-wrong", "verify", "--policy", p("policy.json"), app));
    assertEquals(2, denied.code(), denied.out());
    assertTrue(denied.out().contains("401 Unauthorized"), denied.out());

    // A registry that throttles the listing: exit 2 naming 429, never "no bundle attached".
    try (FaultProxy proxy = new FaultProxy(reg)) {
      dockerConfig(work.resolve("docker-proxy"), proxy.host(), "ci", "s3cret");
      String viaProxy = proxy.host() + "/apps/service:1.0";
      proxy.fault = (m, path) -> path.contains("/manifests/sha256-") ? 429 : 0;
      CliEndToEndTest.Run throttled = custody(with("docker-proxy", "verify", "--policy", p("policy.json"), "--offline", viaProxy));
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
      CliEndToEndTest.Run forbidden = custody(with("docker-proxy", "verify", "--policy", p("policy.json"), viaProxy));
      assertEquals(2, forbidden.code(), forbidden.out());
      assertTrue(forbidden.out().contains("403 Forbidden"), forbidden.out());
      proxy.fault = (m, path) -> 0;
      CliEndToEndTest.Run missing = custody(with("docker-proxy", "verify", "--policy", p("policy.json"), proxy.host() + "/apps/nothing:1"));
      assertEquals(2, missing.code(), missing.out());
      assertTrue(missing.out().contains("404 Not Found"), missing.out());
    }
  }

  /** Writers racing on one subject's referrers tag (registry 2.8 has no compare-and-set): no entry is lost. */
  @Test
  void concurrentAttachersKeepEveryEntryInTheReferrersTag() throws Exception {
    Path oci = work.resolve("oci-race");
    OciLayouts.build(oci, 1, "race");
    DockerRegistry.skopeoPush(oci, "step0", reg + "/race/img:1", "ci:s3cret");
    RegistryClient client = RegistryClient.builder().credentials(Credentials.dockerConfig(work.resolve("docker/config.json"))).build();
    RegistryClient.RemoteImage img = client.image(ImageReference.parse(reg + "/race/img:1"), dev.custody.registry.Platform.DEFAULT);
    int writers = 6;
    List<Thread> threads = new java.util.ArrayList<>();
    java.util.Queue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
    for (int i = 0; i < writers; i++) {
      byte[] payload = ("{\"writer\":" + i + "}").getBytes(StandardCharsets.UTF_8);
      Thread t = new Thread(() -> {
        try {
          client.attach(img.ref(), img.manifest(), "application/vnd.test.race", "application/vnd.test.race", payload, java.util.Map.of());
        } catch (Throwable e) {
          errors.add(e);
        }
      });
      threads.add(t);
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) t.join();
    assertTrue(errors.isEmpty(), errors.toString());
    assertEquals(writers, client.referrers(img.ref(), img.ref().digest(), "application/vnd.test.race").size());
  }

  @Test
  void aMissingLoginIsNamedNotReadAsUnsigned() {
    RegistryClient anonymous = RegistryClient.builder().credentials(Credentials.none()).build();
    RegistryException.Unauthorized e = org.junit.jupiter.api.Assertions.assertThrows(RegistryException.Unauthorized.class,
        () -> anonymous.manifest(ImageReference.parse(reg + "/base/os:12")));
    assertTrue(e.getMessage().contains("wants a login"), e.getMessage());
  }
}
