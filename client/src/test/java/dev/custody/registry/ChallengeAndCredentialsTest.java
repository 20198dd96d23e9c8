package dev.custody.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WWW-Authenticate challenges as registries send them; logins from a Docker config as Docker reads
 * it.
 */
class ChallengeAndCredentialsTest {
  @TempDir Path dir;

  @Test
  void bearerChallengesWithQuotedCommas() {
    Challenge c =
        Challenge.parse(
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
                    + "scope=\"repository:team/app:pull,push\"")
            .orElseThrow();
    assertEquals("bearer", c.scheme());
    assertEquals("https://auth.example/token", c.params().get("realm"));
    assertEquals("repository:team/app:pull,push", c.params().get("scope"));
    Challenge b = Challenge.parse("Basic realm=\"Registry \\\"quoted\\\" realm\"").orElseThrow();
    assertEquals("basic", b.scheme());
    assertEquals("Registry \"quoted\" realm", b.params().get("realm"));
    assertTrue(Challenge.parse(null).isEmpty());
    assertTrue(Challenge.parse("  ").isEmpty());
  }

  Path config(String json) throws Exception {
    Path f = dir.resolve("config.json");
    Files.writeString(f, json);
    return f;
  }

  @Test
  void authsIdentityTokensAndDockerHubsKey() throws Exception {
    String auth = Base64.getEncoder().encodeToString("ci:pa:ss".getBytes(StandardCharsets.UTF_8));
    Credentials c =
        Credentials.dockerConfig(
            config(
                "{\"auths\":{"
                    + "\"registry.example:5000\":{\"auth\":\""
                    + auth
                    + "\"},"
                    + "\"https://index.docker.io/v1/\":{\"auth\":\""
                    + auth
                    + "\"},"
                    + "\"ghcr.io\":{\"identitytoken\":\"refresh-me\"}}}"));
    assertEquals(
        new Credentials.Login("ci", "pa:ss"), c.forHost("registry.example:5000").orElseThrow());
    assertEquals("ci", c.forHost("docker.io").orElseThrow().username());
    assertTrue(c.forHost("ghcr.io").orElseThrow().isIdentityToken());
    assertEquals(Optional.empty(), c.forHost("other.example"));
    assertTrue(
        !c.forHost("docker.io").orElseThrow().toString().contains("pa:ss"),
        "a login never prints its secret");
    assertEquals(
        Optional.empty(),
        Credentials.dockerConfig(dir.resolve("absent.json")).forHost("docker.io"));
  }

  @Test
  void credentialHelpersAreAskedByTheProtocol() throws Exception {
    Path helper = dir.resolve("docker-credential-fake");
    // The credential helper protocol: the server URL on stdin, {"Username","Secret"} out, and
    // "credentials not found" with a failure for a host it does not know.
    Files.writeString(
        helper,
        """
        #!/bin/sh
        read host
        if [ "$host" = "registry.example" ]; then
          echo '{"ServerURL":"registry.example","Username":"helper-user","Secret":"helper-secret"}'
        else
          echo "credentials not found in native keychain"; exit 1
        fi
        """);
    Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwx------"));
    Credentials c =
        new Credentials.DockerConfig(
            config(
                "{\"credHelpers\":{\"registry.example\":\"fake\"}," + "\"credsStore\":\"fake\"}"),
            dir);
    assertEquals(
        new Credentials.Login("helper-user", "helper-secret"),
        c.forHost("registry.example").orElseThrow());
    assertEquals(
        Optional.empty(), c.forHost("unknown.example"), "the store knows nothing of it: anonymous");
    Credentials missing = new Credentials.DockerConfig(config("{\"credsStore\":\"absent\"}"), dir);
    assertTrue(
        assertThrows(IOException.class, () -> missing.forHost("x.example"))
            .getMessage()
            .contains("not on the PATH"));
  }

  @Test
  void aCredentialHelperThatNeverAnswersIsKilledAtItsTimeout(@TempDir Path dir) throws Exception {
    Path helper = dir.resolve("docker-credential-stuck");
    Path pidFile = dir.resolve("pid");
    // Writes nothing, never closes its output, never exits (and leaves a child that holds it).
    Files.writeString(helper, "#!/bin/sh\necho $$ > " + pidFile + "\nsleep 600\n");
    Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwx------"));
    Path config = dir.resolve("config.json");
    Files.writeString(config, "{\"credsStore\":\"stuck\"}");
    Credentials c = new Credentials.DockerConfig(config, dir, 2);
    long t0 = System.nanoTime();
    IOException e = assertThrows(IOException.class, () -> c.forHost("registry.example"));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(e.getMessage().contains("did not answer within 2 s"), e.getMessage());
    assertTrue(ms < 5_000, "waited " + ms + " ms");
    long pid = Long.parseLong(Files.readString(pidFile).strip());
    long end = System.nanoTime() + 5_000_000_000L;
    while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
        && System.nanoTime() < end) Thread.sleep(50);
    assertTrue(
        !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the helper lives on");
  }
}
