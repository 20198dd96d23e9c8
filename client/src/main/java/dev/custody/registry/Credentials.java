package dev.custody.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.io.Home;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Where a registry client finds the credentials for a host. {@link #dockerConfig()} reads them as
 * Docker does; implementations must be safe to call from several threads.
 */
public interface Credentials {
  /** A user name and password (or, with the user {@code <token>}, an identity token). */
  record Login(String username, String secret) {
    /** Docker's marker user name for an OAuth2 identity (refresh) token in place of a password. */
    public static final String IDENTITY_TOKEN_USER = "<token>";

    public boolean isIdentityToken() {
      return IDENTITY_TOKEN_USER.equals(username);
    }

    @Override
    public String toString() {
      return "Login[" + username + ", ***]"; // never the secret, not even in a stack trace
    }
  }

  /**
   * The login for {@code host} (as in a reference: {@code docker.io}, {@code localhost:5000}), if
   * any.
   */
  Optional<Login> forHost(String host) throws IOException;

  /** No credentials: anonymous pulls only. */
  static Credentials none() {
    return host -> Optional.empty();
  }

  /**
   * The Docker config: {@code $DOCKER_CONFIG/config.json}, else {@code ~/.docker/config.json}; a
   * missing file means no credentials. Per host, as Docker: {@code credHelpers[host]} names a
   * {@code docker-credential-NAME} program, else {@code auths[host]} holds {@code auth} (base64
   * user:password) or {@code identitytoken}, else {@code credsStore} names a helper for every host.
   * Docker Hub's entry is {@code https://index.docker.io/v1/}.
   */
  static Credentials dockerConfig() {
    String dir = System.getenv("DOCKER_CONFIG");
    Path file =
        dir != null && !dir.isEmpty()
            ? Path.of(dir, "config.json")
            : Home.dir().resolve(".docker").resolve("config.json");
    return dockerConfig(file);
  }

  /** {@link #dockerConfig()} from an explicit file. */
  static Credentials dockerConfig(Path file) {
    return new DockerConfig(file);
  }

  /** The Docker config file's reading; results per host are remembered for the client's life. */
  final class DockerConfig implements Credentials {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HUB_KEY = "https://index.docker.io/v1/";
    private static final long MAX_CONFIG_BYTES = 1 << 20;
    private static final long HELPER_SECONDS = 30;
    private final Path file;
    private final Path helperDir;
    private final long helperSeconds;
    private final Map<String, Optional<Login>> found = new ConcurrentHashMap<>();

    DockerConfig(Path file) {
      this(file, null);
    }

    /**
     * @param helperDir where the {@code docker-credential-*} programs are, or null for the PATH
     *     (tests pass a folder)
     */
    DockerConfig(Path file, Path helperDir) {
      this(file, helperDir, HELPER_SECONDS);
    }

    /**
     * @param helperSeconds how long a credential helper may take, output and exit; then it is
     *     killed
     */
    DockerConfig(Path file, Path helperDir, long helperSeconds) {
      this.file = file;
      this.helperDir = helperDir;
      this.helperSeconds = helperSeconds;
    }

    @Override
    public Optional<Login> forHost(String host) throws IOException {
      Optional<Login> known = found.get(host);
      if (known != null) return known;
      Optional<Login> l = read(host);
      found.put(host, l);
      return l;
    }

    private Optional<Login> read(String host) throws IOException {
      if (!Files.isRegularFile(file)) return Optional.empty();
      if (Files.size(file) > MAX_CONFIG_BYTES)
        throw new IOException(file + " is larger than a Docker config should be");
      JsonNode root;
      try {
        root = JSON.readTree(file.toFile());
      } catch (IOException e) {
        throw new IOException(file + " is not valid JSON: " + e.getMessage(), e);
      }
      boolean hub = host.equals(ImageReference.DOCKER_HUB);
      String helper = root.path("credHelpers").path(host).asText(null);
      if (helper == null && hub) helper = root.path("credHelpers").path(HUB_KEY).asText(null);
      if (helper != null) return helper(helper, hub ? HUB_KEY : host);
      JsonNode auths = root.path("auths");
      JsonNode entry = null;
      for (String key :
          hub
              ? new String[] {HUB_KEY, "docker.io", "index.docker.io", "registry-1.docker.io"}
              : new String[] {
                host,
                "https://" + host,
                "http://" + host,
                "https://" + host + "/v2/",
                "https://" + host + "/v1/"
              }) {
        if (auths.has(key)) {
          entry = auths.get(key);
          break;
        }
      }
      if (entry != null) {
        String identity = entry.path("identitytoken").asText("");
        if (!identity.isEmpty()) return Optional.of(new Login(Login.IDENTITY_TOKEN_USER, identity));
        String auth = entry.path("auth").asText("");
        if (!auth.isEmpty()) {
          String decoded;
          try {
            decoded = new String(Base64.getDecoder().decode(auth.strip()), StandardCharsets.UTF_8);
          } catch (IllegalArgumentException e) {
            throw new IOException(file + ": the auth for " + host + " is not base64");
          }
          int colon = decoded.indexOf(':');
          if (colon < 0)
            throw new IOException(file + ": the auth for " + host + " is not user:password");
          return Optional.of(new Login(decoded.substring(0, colon), decoded.substring(colon + 1)));
        }
        if (entry.hasNonNull("username")) {
          return Optional.of(
              new Login(entry.get("username").asText(), entry.path("password").asText("")));
        }
      }
      String store = root.path("credsStore").asText(null);
      if (store != null && !store.isEmpty()) return helper(store, hub ? HUB_KEY : host);
      return Optional.empty();
    }

    /**
     * Asks {@code docker-credential-NAME get} (the credential helper protocol: the server URL on
     * stdin, JSON out).
     */
    private Optional<Login> helper(String name, String serverUrl) throws IOException {
      if (!name.matches("[A-Za-z0-9._-]+"))
        throw new IOException(file + ": \"" + name + "\" is not a credential helper name");
      Process p;
      try {
        String program =
            helperDir == null
                ? "docker-credential-" + name
                : helperDir.resolve("docker-credential-" + name).toString();
        p =
            new ProcessBuilder(program, "get")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
      } catch (IOException e) {
        throw new IOException(
            file
                + " names the credential helper docker-credential-"
                + name
                + ", which is not on the PATH",
            e);
      }
      try (OutputStream in = p.getOutputStream()) {
        in.write(serverUrl.getBytes(StandardCharsets.UTF_8));
      }
      // Its answer is read on a thread of its own, so that the deadline covers a helper that never
      // writes or never closes its output, not only one that never exits.
      FutureTask<byte[]> reading =
          new FutureTask<>(
              () -> {
                try (InputStream o = p.getInputStream()) {
                  return o.readNBytes((int) MAX_CONFIG_BYTES);
                }
              });
      Thread reader = new Thread(reading, "docker-credential-" + name);
      reader.setDaemon(true);
      reader.start();
      byte[] out;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(helperSeconds);
      try {
        out = reading.get(helperSeconds, TimeUnit.SECONDS);
        if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS))
          throw new TimeoutException();
      } catch (TimeoutException e) {
        kill(p);
        throw new IOException(
            "docker-credential-" + name + " did not answer within " + helperSeconds + " s; killed");
      } catch (ExecutionException e) {
        kill(p);
        throw new IOException("reading docker-credential-" + name + " failed", e.getCause());
      } catch (InterruptedException e) {
        kill(p);
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while asking docker-credential-" + name);
      }
      String text = new String(out, StandardCharsets.UTF_8).strip();
      // The protocol's way of saying "nothing stored for this host" is a non-zero exit with this
      // text.
      if (p.exitValue() != 0) {
        if (text.contains("credentials not found")) return Optional.empty();
        throw new IOException("docker-credential-" + name + " failed (exit " + p.exitValue() + ")");
      }
      JsonNode r = JSON.readTree(text);
      String user = r.path("Username").asText("");
      String secret = r.path("Secret").asText("");
      if (secret.isEmpty()) return Optional.empty();
      return Optional.of(new Login(user, secret));
    }

    /** Ends a helper and whatever it started (a shell script's children too). */
    private static void kill(Process p) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }
}
