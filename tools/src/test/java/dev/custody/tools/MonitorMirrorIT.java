package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.note.Ed25519NoteKeys;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mirror that lies, stalls or drops data must not fool or hang the monitor. A missing tile, an
 * error, an endless or a dripping answer is mirror trouble — reported as such, retried, never a log
 * fault, never the end of follow mode; and a checkpoint without the policy's witness quorum is not
 * accepted.
 */
class MonitorMirrorIT {
  @TempDir Path work;

  enum Mode {
    HEALTHY,
    MISSING_TILES,
    ERROR,
    ENDLESS_CHECKPOINT,
    DRIP
  }

  /** A mirror in front of the log's tiles that misbehaves as told. */
  static final class Mirror implements AutoCloseable {
    final AtomicReference<Mode> mode = new AtomicReference<>(Mode.HEALTHY);
    final HttpServer server;
    final HttpClient upstream = HttpClient.newHttpClient();

    Mirror(String origin) throws Exception {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
      server.setExecutor(
          Executors.newCachedThreadPool(
              r -> {
                Thread t = new Thread(r);
                t.setDaemon(true);
                return t;
              }));
      server.createContext(
          "/",
          ex -> {
            String path = ex.getRequestURI().getPath();
            try (ex) {
              switch (mode.get()) {
                case ERROR -> ex.sendResponseHeaders(500, -1);
                case MISSING_TILES -> {
                  if (path.startsWith("/tile/")) {
                    ex.sendResponseHeaders(404, -1);
                    return;
                  }
                  proxy(ex, origin + path);
                }
                case ENDLESS_CHECKPOINT -> {
                  ex.sendResponseHeaders(200, 0);
                  OutputStream out = ex.getResponseBody();
                  byte[] junk = "junk\n".repeat(20_000).getBytes(StandardCharsets.US_ASCII);
                  for (int i = 0; i < 100_000; i++)
                    out.write(junk); // 10 GB unless the reader gives up
                }
                case DRIP -> {
                  ex.sendResponseHeaders(200, 0);
                  OutputStream out = ex.getResponseBody();
                  for (int i = 0; i < 600; i++) {
                    out.write('x');
                    out.flush();
                    Thread.sleep(1_000);
                  }
                }
                default -> proxy(ex, origin + path);
              }
            } catch (Exception clientGone) {
              // the monitor hung up on us
            }
          });
      server.start();
    }

    private void proxy(HttpExchange ex, String url) throws Exception {
      HttpResponse<byte[]> r =
          upstream.send(
              HttpRequest.newBuilder(URI.create(url)).build(),
              HttpResponse.BodyHandlers.ofByteArray());
      ex.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
      if (r.body().length > 0) ex.getResponseBody().write(r.body());
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  private String rules(MonitorTest.Server log, String witnesses) throws Exception {
    String info =
        CliEndToEndTest.custody("info", "--server", "127.0.0.1:" + log.server().grpcPort()).out();
    String vkey =
        info.lines()
            .filter(l -> l.startsWith("verifier_key "))
            .findFirst()
            .orElseThrow()
            .substring(13);
    Path f = work.resolve("rules-" + witnesses.length() + ".json");
    Files.writeString(
        f,
        """
        {"log": {"origin": "monitor.test/log", "verifier_key": "%s"}, "signers": []%s}
        """
            .formatted(vkey, witnesses));
    return f.toString();
  }

  @Test
  void mirrorTroubleIsRetriedAndNeverBlamedOnTheLog() throws Exception {
    LinkKeys.Signer key = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    try (MonitorTest.Server log = MonitorTest.Server.start(work.resolve("log"), Optional.empty());
        Mirror mirror = new Mirror(log.tiles().substring(0, log.tiles().length() - 1))) {
      for (int i = 0; i < 3; i++)
        log.submit(MonitorTest.link(key, "registry.example/m/app", "image " + i, null, "l" + i, i));
      String rules = rules(log, "");
      String state = work.resolve("state.json").toString();
      String[] once = {
        "monitor",
        "--log",
        mirror.url(),
        "--rules",
        rules,
        "--state",
        state,
        "--once",
        "--no-progress",
        "--timeout",
        "2"
      };
      assertEquals(0, CliEndToEndTest.custody(once).code());

      // The log grows; the mirror has the checkpoint but not the tiles.
      for (int i = 3; i < 300; i++)
        log.submit(MonitorTest.link(key, "registry.example/m/app", "image " + i, null, "l" + i, i));
      for (Mode m : List.of(Mode.MISSING_TILES, Mode.ERROR, Mode.ENDLESS_CHECKPOINT, Mode.DRIP)) {
        mirror.mode.set(m);
        long t0 = System.nanoTime();
        CliEndToEndTest.Run r = CliEndToEndTest.custody(once);
        assertEquals(4, r.code(), m + ": mirror trouble is exit 4, not a log fault\n" + r.out());
        List<JsonNode> f = MonitorTest.findings(r.out());
        assertEquals(1, f.size(), m + "\n" + r.out());
        assertEquals("mirror-unavailable", f.get(0).get("rule").asText(), r.out());
        assertTrue(!f.get(0).get("log_fault").asBoolean());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30), m + " took too long");
      }
      // The mirror recovers: the monitor picks up where it was, and finds nothing wrong.
      mirror.mode.set(Mode.HEALTHY);
      CliEndToEndTest.Run ok = CliEndToEndTest.custody(once);
      assertEquals(0, ok.code(), ok.out());
      assertTrue(MonitorTest.findings(ok.out()).isEmpty(), ok.out());
    }
  }

  @Test
  void followModeOutlivesAMirrorOutage() throws Exception {
    LinkKeys.Signer key = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    try (MonitorTest.Server log = MonitorTest.Server.start(work.resolve("log"), Optional.empty());
        Mirror mirror = new Mirror(log.tiles().substring(0, log.tiles().length() - 1))) {
      log.submit(MonitorTest.link(key, "registry.example/m/app", "image 0", null, "l0", 0));
      String rules = rules(log, "");
      mirror.mode.set(Mode.ERROR);
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      String cp =
          System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
      Process p =
          new ProcessBuilder(
                  java,
                  "-cp",
                  cp,
                  CustodyCli.class.getName(),
                  "monitor",
                  "--log",
                  mirror.url(),
                  "--rules",
                  rules,
                  "--state",
                  work.resolve("follow.json").toString(),
                  "--interval",
                  "1",
                  "--no-progress")
              .redirectErrorStream(false)
              .start();
      try {
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader =
            new Thread(
                () -> {
                  try (BufferedReader r =
                      new BufferedReader(
                          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) lines.add(line);
                  } catch (Exception ended) {
                    // process ended
                  }
                });
        reader.setDaemon(true);
        reader.start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (lines.stream().noneMatch(l -> l.contains("mirror-unavailable"))
            && System.nanoTime() < until) Thread.sleep(100);
        assertTrue(
            lines.stream().anyMatch(l -> l.contains("mirror-unavailable")),
            String.join("\n", lines));
        Thread.sleep(1_500);
        assertTrue(p.isAlive(), "follow mode goes on after mirror trouble");
        // Back to health; a signer the (empty) policy does not know is then reported.
        mirror.mode.set(Mode.HEALTHY);
        Files.writeString(
            Path.of(rules),
            Files.readString(Path.of(rules))
                .replace(
                    "\"signers\": []", "\"signers\": [], \"watch\": [\"registry.example/*\"]"));
        until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // The rules are read once at start; what shows recovery is that the state file is written.
        while (!Files.exists(work.resolve("follow.json")) && System.nanoTime() < until)
          Thread.sleep(100);
        assertTrue(
            Files.exists(work.resolve("follow.json")),
            "the monitor caught up once the mirror recovered");
        assertTrue(p.isAlive());
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(15, TimeUnit.SECONDS), "the monitor stops on SIGTERM");
      } finally {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aCheckpointWithoutTheWitnessQuorumIsNotAccepted() throws Exception {
    LinkKeys.Signer key = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    String witness =
        Ed25519NoteKeys.generate("monitor.test/w1", Ed25519NoteKeys.COSIGNATURE, new SecureRandom())
            .verifier()
            .vkey();
    try (MonitorTest.Server log = MonitorTest.Server.start(work.resolve("log"), Optional.empty())) {
      SignedLink l = MonitorTest.link(key, "registry.example/m/app", "image", null, "l", 1);
      log.submit(l);
      String rules =
          rules(log, ", \"witnesses\": {\"quorum\": 1, \"verifier_keys\": [\"" + witness + "\"]}");
      String state = work.resolve("state.json").toString();
      CliEndToEndTest.Run r =
          CliEndToEndTest.custody(
              "monitor",
              "--log",
              log.tiles(),
              "--rules",
              rules,
              "--state",
              state,
              "--once",
              "--no-progress");
      assertEquals(4, r.code(), r.out());
      List<JsonNode> f = MonitorTest.findings(r.out());
      assertEquals("unwitnessed-checkpoint", f.get(0).get("rule").asText(), r.out());
      assertTrue(
          !Files.exists(Path.of(state)), "an unwitnessed checkpoint does not advance the monitor");
    }
  }
}
