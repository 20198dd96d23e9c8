package dev.custody.tools;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/**
 * Debian's docker-registry (CNCF distribution 2.8, no referrers API) as a real process on loopback,
 * with its own storage folder: anonymous, with htpasswd Basic auth, or with token auth against a
 * token issuer the test runs. Not found on the PATH is a failure, never a skip: bin/test installs
 * it.
 */
final class DockerRegistry implements AutoCloseable {
  static final String BINARY = "/usr/bin/docker-registry";
  final int port;
  final Process process;
  final Path dir;

  private DockerRegistry(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
  }

  /** An open registry. */
  static DockerRegistry anonymous(Path dir) throws Exception {
    return start(dir, "");
  }

  /**
   * A registry that wants Basic auth with {@code user}/{@code password} (bcrypt htpasswd, as the
   * registry needs).
   */
  static DockerRegistry htpasswd(Path dir, String user, String password) throws Exception {
    Files.createDirectories(dir);
    byte[] salt = new byte[16];
    new SecureRandom().nextBytes(salt);
    Files.writeString(
        dir.resolve("htpasswd"),
        user + ":" + OpenBSDBCrypt.generate("2y", password.toCharArray(), salt, 5) + "\n");
    return start(
        dir,
        """
        auth:
          htpasswd:
            realm: custody-test
            path: %s
        """
            .formatted(dir.resolve("htpasswd")));
  }

  /**
   * A registry that wants Bearer tokens from {@code realm}, signed by the key of the certificate in
   * {@code rootCertPem}.
   */
  static DockerRegistry token(
      Path dir, String realm, String service, String issuer, Path rootCertPem) throws Exception {
    return start(
        dir,
        """
        auth:
          token:
            realm: %s
            service: %s
            issuer: %s
            rootcertbundle: %s
        """
            .formatted(realm, service, issuer, rootCertPem));
  }

  private static DockerRegistry start(Path dir, String auth) throws Exception {
    if (!Files.isExecutable(Path.of(BINARY))) {
      throw new IllegalStateException(
          BINARY
              + " is missing: run bin/test (it installs Debian's docker-registry) or "
              + "apt-get install -y docker-registry");
    }
    Files.createDirectories(dir);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path config = dir.resolve("config.yml");
    Files.writeString(
        config,
        """
        version: 0.1
        log:
          level: warn
          accesslog:
            disabled: true
        storage:
          filesystem:
            rootdirectory: %s
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:%d
        """
                .formatted(dir.resolve("data"), port)
            + auth);
    Process p =
        new ProcessBuilder(BINARY, "serve", config.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("registry.log").toFile())
            .start();
    DockerRegistry r = new DockerRegistry(dir, port, p);
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (true) {
      try {
        HttpResponse<Void> resp =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/")).build(),
                HttpResponse.BodyHandlers.discarding());
        if (resp.statusCode() == 200 || resp.statusCode() == 401) return r;
      } catch (IOException notYet) {
        // starting
      }
      if (!p.isAlive() || System.nanoTime() > deadline) {
        r.close();
        throw new IllegalStateException(
            "docker-registry did not start: " + Files.readString(dir.resolve("registry.log")));
      }
      Thread.sleep(50);
    }
  }

  String host() {
    return "127.0.0.1:" + port;
  }

  @Override
  public void close() {
    process.destroy();
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * {@code skopeo copy} of image {@code tag} from an OCI layout to {@code ref} in a registry,
   * keeping the manifest's bytes (and so its digest) as the layout has them.
   */
  static void skopeoPush(Path layout, String tag, String ref, String creds) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "/usr/bin/skopeo",
                "copy",
                "--insecure-policy",
                "--preserve-digests",
                "--dest-tls-verify=false"));
    if (creds != null) cmd.addAll(List.of("--dest-creds", creds));
    cmd.addAll(List.of("oci:" + layout + ":" + tag, "docker://" + ref));
    run(cmd);
  }

  static String run(List<String> cmd) throws Exception {
    if (!Files.isExecutable(Path.of(cmd.get(0)))) {
      throw new IllegalStateException(
          cmd.get(0) + " is missing: run bin/test (it installs it) or apt-get install -y skopeo");
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0)
      throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
    return out;
  }
}
