package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.keys.Passwords;
import dev.custody.keys.Signers;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.testing.OciLayouts;
import dev.custody.testing.SoftHsm;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keys as teams keep them, through the real command line (a child process, so that the passphrase
 * variables are its environment): encrypted keygen, signing with an encrypted key, a cosign key
 * (and cosign.pub in the trust policy), and a key in a SoftHSM token; each chain then verifies.
 */
class CliKeysIT {
  @TempDir static Path work;
  static CustodyServer server;
  static String log;

  @BeforeAll
  static void start() throws Exception {
    server =
        CustodyServer.start(
            ServerConfig.builder(work.resolve("data"))
                .origin("keys.test/custody")
                .anyPorts()
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> {});
    log = "127.0.0.1:" + server.grpcPort();
    OciLayouts.build(work.resolve("oci"), 1, "keys");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  record Run(int code, String out) {}

  /** The CLI as a child process with {@code env} added to its environment. */
  static Run cli(Map<String, String> env, String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                CustodyCli.class.getName()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().remove("CUSTODY_PASSWORD");
    pb.environment().remove("COSIGN_PASSWORD");
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Run(p.waitFor(), out);
  }

  static String p(String name) {
    return work.resolve(name).toString();
  }

  /**
   * Signs layer 0 of the layout with {@code key} as {@code repository}, submits it, and verifies
   * under a policy naming {@code pub}.
   */
  static void signSubmitVerify(Map<String, String> env, String key, String pub, String repository)
      throws Exception {
    String links = p(repository.replace('/', '_') + ".links");
    Run signed =
        cli(
            env,
            "sign",
            "--layout",
            p("oci"),
            "--image",
            "step0",
            "--repository",
            repository,
            "--key",
            key,
            "--out",
            links);
    assertEquals(0, signed.code(), signed.out());
    assertTrue(
        !signed.out().contains("Stiftung"),
        "the PKCS#11 wrapper's notice stays off the answer: " + signed.out());
    CliEndToEndTest.ok("submit", "--server", log, links);
    String vkey =
        CliEndToEndTest.ok("info", "--server", log)
            .out()
            .lines()
            .filter(l -> l.startsWith("verifier_key "))
            .findFirst()
            .orElseThrow()
            .substring(13);
    Path policy = work.resolve(repository.replace('/', '_') + ".policy.json");
    Files.writeString(
        policy,
        """
        {"log": {"origin": "keys.test/custody", "verifier_key": "%s"},
         "signers": [{"name": "team", "public_key_file": "%s", "repositories": ["%s"], "layers": {"min": 0, "max": 0}}]}
        """
            .formatted(vkey, pub, repository));
    CliEndToEndTest.Run v =
        CliEndToEndTest.ok(
            "verify",
            "--server",
            log,
            "--checkpoint-store",
            p("store"),
            "--policy",
            policy.toString(),
            "--layout",
            p("oci"),
            "--image",
            "step0");
    assertTrue(v.out().contains("VERIFIED"), v.out());
  }

  @Test
  void keygenEncryptsByDefaultAndSignReadsTheKeyWithItsPassphrase() throws Exception {
    Run made = cli(Map.of("CUSTODY_PASSWORD", "a long passphrase"), "keygen", "--out", p("enc"));
    assertEquals(0, made.code(), made.out());
    assertTrue(
        Files.readString(work.resolve("enc.key"))
            .startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(work.resolve("enc.key"))));
    signSubmitVerify(
        Map.of("CUSTODY_PASSWORD", "a long passphrase"),
        p("enc.key"),
        p("enc.pub"),
        "registry.example/enc/app");

    Run wrong =
        cli(
            Map.of("CUSTODY_PASSWORD", "not it"),
            "sign",
            "--layout",
            p("oci"),
            "--image",
            "step0",
            "--repository",
            "registry.example/enc/app",
            "--key",
            p("enc.key"),
            "--out",
            p("wrong.links"));
    assertEquals(2, wrong.code(), wrong.out());
    assertTrue(wrong.out().contains("the passphrase does not open"), wrong.out());
    Run none =
        cli(
            Map.of(),
            "sign",
            "--layout",
            p("oci"),
            "--image",
            "step0",
            "--repository",
            "registry.example/enc/app",
            "--key",
            p("enc.key"),
            "--out",
            p("none.links"));
    assertEquals(2, none.code(), none.out());
    assertTrue(none.out().contains("set CUSTODY_PASSWORD"), none.out());

    Run noPassphrase = cli(Map.of(), "keygen", "--out", p("nopass"));
    assertEquals(2, noPassphrase.code(), noPassphrase.out());
    assertTrue(noPassphrase.out().contains("--no-password"), noPassphrase.out());
    Run plain = cli(Map.of(), "keygen", "--no-password", "--out", p("plain"));
    assertEquals(0, plain.code(), plain.out());
    assertTrue(
        plain.out().contains("warning: ") && plain.out().contains("is not encrypted"), plain.out());
    assertTrue(
        Files.readString(work.resolve("plain.key")).startsWith("-----BEGIN PRIVATE KEY-----"));
  }

  @Test
  void aCosignKeySignsAndCosignPubIsThePolicysKey() throws Exception {
    for (String f : List.of("cosign.key", "cosign.pub")) {
      try (InputStream in = CliKeysIT.class.getResourceAsStream("/keys/cosign/" + f)) {
        Files.write(work.resolve(f), in.readAllBytes());
      }
    }
    Files.setPosixFilePermissions(
        work.resolve("cosign.key"), PosixFilePermissions.fromString("rw-------"));
    signSubmitVerify(
        Map.of("COSIGN_PASSWORD", "correct horse"),
        p("cosign.key"),
        p("cosign.pub"),
        "registry.example/cosign/app");
  }

  @Test
  void aKeyInASoftHsmTokenSigns() throws Exception {
    SoftHsm.freshTokens("cli-test");
    for (String object : List.of("ed", "p256")) {
      // The token's public key, as the signer sees it, for the policy.
      String uri = SoftHsm.uri("cli-test", object, SoftHsm.PIN);
      Path pub = work.resolve("hsm-" + object + ".pub");
      Files.writeString(pub, Signers.open(uri, Passwords.fixed(new char[0])).publicKeyPem());
      signSubmitVerify(Map.of(), uri, pub.toString(), "registry.example/hsm/" + object);
    }
  }
}
