package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpServer;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.keys.LogKeys;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `custody monitor` over a real log's tiles: a planted unexpected signer, a second chain for one
 * image and a fork give exactly those findings; a log that shows a history inconsistent with what
 * the monitor saw is a log fault with exit code 3.
 */
class MonitorTest {
  @TempDir Path work;

  static Digest d(String s) {
    return Digest.sha256Of(s.getBytes(StandardCharsets.UTF_8));
  }

  static SignedLink link(
      LinkKeys.Signer key, String repo, String manifest, SignedLink below, String layer, long at) {
    Digest diff = d("diff " + layer);
    Digest chain = below == null ? diff : ChainIds.next(below.statement().chainId(), diff);
    long index = below == null ? 0 : below.statement().layerIndex() + 1;
    return SignedLink.sign(
        new Statement(
            repo,
            d(manifest),
            index,
            d("blob " + layer),
            diff,
            chain,
            below == null ? Statement.NO_PREDECESSOR : below.linkId(),
            at),
        key);
  }

  record Server(
      CustodyServer server,
      ManagedChannel channel,
      TransparencyLogGrpc.TransparencyLogBlockingStub log)
      implements AutoCloseable {
    static Server start(Path data, Optional<Path> key) throws Exception {
      CustodyServer s =
          CustodyServer.start(
              ServerConfig.builder(data)
                  .origin("monitor.test/log")
                  .keys(key.map(LogKeys.DEFAULT::withKeyFile).orElse(LogKeys.DEFAULT))
                  .anyPorts()
                  .queueCapacity(1024)
                  .maxBatch(256)
                  .build(),
              (n, t) -> {});
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", s.grpcPort()).usePlaintext().build();
      return new Server(
          s, ch, TransparencyLogGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS));
    }

    long submit(SignedLink l) {
      return log.submit(
              SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(l.encoded())).build())
          .getIndex();
    }

    String tiles() {
      return "http://127.0.0.1:" + server.httpPort() + "/";
    }

    @Override
    public void close() {
      channel.shutdownNow();
      server.close();
    }
  }

  static List<JsonNode> findings(String out) throws Exception {
    List<JsonNode> f = new ArrayList<>();
    for (String line : out.split("\n"))
      if (line.startsWith("{")) f.add(new ObjectMapper().readTree(line));
    return f;
  }

  @Test
  void plantedFindingsAndAnInconsistentLog() throws Exception {
    LinkKeys.Signer base = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    LinkKeys.Signer runtime = LinkKeys.generate(LinkKeys.Scheme.ECDSA_P256_SHA256);
    LinkKeys.Signer app = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    LinkKeys.Signer intruder = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    Files.writeString(work.resolve("base.pub"), base.publicKeyPem());
    Files.writeString(work.resolve("runtime.pub"), runtime.publicKeyPem());
    Files.writeString(work.resolve("app.pub"), app.publicKeyPem());

    try (Server a = Server.start(work.resolve("a"), Optional.empty())) {
      SignedLink l0 = link(base, "registry.example/base/os", "image base", null, "base", 1);
      SignedLink l1 = link(runtime, "registry.example/runtime/jre", "image runtime", l0, "jre", 2);
      SignedLink l2 = link(app, "registry.example/apps/service", "image app", l1, "app", 3);
      for (SignedLink l : List.of(l0, l1, l2)) a.submit(l);
      long unexpected =
          a.submit(link(intruder, "registry.example/apps/other", "image x", null, "x", 4));
      long second =
          a.submit(
              link(
                  base,
                  "registry.example/base/os",
                  "image base",
                  null,
                  "base",
                  5)); // same image, new link
      long fork =
          a.submit(
              link(runtime, "registry.example/runtime/jre", "image runtime 2", l0, "jre-other", 6));

      String info =
          CliEndToEndTest.custody("info", "--server", "127.0.0.1:" + a.server().grpcPort()).out();
      String vkey =
          info.lines()
              .filter(l -> l.startsWith("verifier_key "))
              .findFirst()
              .orElseThrow()
              .substring(13);
      Files.writeString(
          work.resolve("rules.json"),
          """
          {"log": {"origin": "monitor.test/log", "verifier_key": "%s"},
           "signers": [
             {"name": "base OS team", "public_key_file": "base.pub", "repositories": ["registry.example/base/*"]},
             {"name": "runtime team", "public_key_file": "runtime.pub", "repositories": ["registry.example/runtime/*"]},
             {"name": "application team", "public_key_file": "app.pub", "repositories": ["registry.example/apps/*"]}]}
          """
              .formatted(vkey));
      // A webhook that collects what it is sent.
      List<String> posted = Collections.synchronizedList(new ArrayList<>());
      HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
      hook.createContext(
          "/hook",
          ex -> {
            posted.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            ex.sendResponseHeaders(204, -1);
            ex.close();
          });
      hook.start();
      String[] hooked = {
        "monitor",
        "--log",
        a.tiles(),
        "--rules",
        work.resolve("rules.json").toString(),
        "--state",
        work.resolve("state.json").toString(),
        "--once",
        "--no-progress",
        "--webhook",
        "http://127.0.0.1:" + hook.getAddress().getPort() + "/hook"
      };
      CliEndToEndTest.Run r = CliEndToEndTest.custody(hooked);
      hook.stop(0);
      String[] args = Arrays.copyOf(hooked, 8);
      assertEquals(1, r.code(), "--once exits 1 when it reported a finding: " + r.out());
      List<JsonNode> f = findings(r.out());
      assertEquals(3, f.size(), r.out());
      assertEquals("unexpected-signer", f.get(0).get("rule").asText());
      assertEquals(unexpected, f.get(0).get("index").asLong());
      assertEquals("second-chain-for-manifest", f.get(1).get("rule").asText());
      assertEquals(second, f.get(1).get("index").asLong());
      assertEquals("fork", f.get(2).get("rule").asText());
      assertEquals(fork, f.get(2).get("index").asLong());
      f.forEach(x -> assertTrue(!x.get("log_fault").asBoolean()));
      assertEquals(3, posted.size(), "every finding is POSTed to the webhook");
      for (int i = 0; i < 3; i++)
        assertEquals(f.get(i), new ObjectMapper().readTree(posted.get(i)));

      // --fail-on narrows what fails the job; every finding is still reported.
      String rulesArg = work.resolve("rules.json").toString();
      Function<String[], CliEndToEndTest.Run> once =
          extra -> {
            List<String> all =
                new ArrayList<>(
                    List.of("monitor", "--log", a.tiles(), "--rules", rulesArg, "--once"));
            all.addAll(List.of(extra));
            return CliEndToEndTest.custody(all.toArray(String[]::new));
          };
      CliEndToEndTest.Run narrow =
          once.apply(new String[] {"--no-progress", "--fail-on", "key-outside-validity-window"});
      assertEquals(0, narrow.code(), narrow.out());
      assertEquals(3, findings(narrow.out()).size(), narrow.out());
      CliEndToEndTest.Run forkOnly =
          once.apply(
              new String[] {"--no-progress", "--fail-on", "fork,key-outside-validity-window"});
      assertEquals(1, forkOnly.code(), forkOnly.out());
      CliEndToEndTest.Run bogus = once.apply(new String[] {"--fail-on", "forks"});
      assertEquals(2, bogus.code(), bogus.out());
      assertTrue(bogus.out().contains("no rule \"forks\""), bogus.out());
      // --since starts a fresh state at an index: what lies before it is not read.
      CliEndToEndTest.Run late =
          once.apply(
              new String[] {
                "--no-progress",
                "--since",
                Long.toString(fork + 1),
                "--state",
                work.resolve("late.json").toString()
              });
      assertEquals(0, late.code(), late.out());
      assertEquals(0, findings(late.out()).size(), late.out());
      CliEndToEndTest.Run fromUnexpected =
          once.apply(new String[] {"--no-progress", "--since", Long.toString(unexpected)});
      List<JsonNode> uf = findings(fromUnexpected.out());
      assertEquals("unexpected-signer", uf.get(0).get("rule").asText(), fromUnexpected.out());
      uf.forEach(x -> assertTrue(x.get("index").asLong() >= unexpected, fromUnexpected.out()));
      CliEndToEndTest.Run notFresh =
          once.apply(
              new String[] {"--since", "0", "--state", work.resolve("late.json").toString()});
      assertEquals(2, notFresh.code(), notFresh.out());
      assertTrue(notFresh.out().contains("starts a fresh state"), notFresh.out());

      // Resuming from the state: nothing new, nothing reported.
      CliEndToEndTest.Run again = CliEndToEndTest.custody(args);
      assertEquals(0, again.code());
      assertEquals(0, findings(again.out()).size(), again.out());

      // The same log under rules where the base team's key expired long ago.
      Files.writeString(
          work.resolve("expired.json"),
          Files.readString(work.resolve("rules.json"))
              .replace(
                  "\"repositories\": [\"registry.example/base/*\"]",
                  "\"repositories\": [\"registry.example/base/*\"], \"valid_until\": \"2000-01-01T00:00:00Z\""));
      CliEndToEndTest.Run expired =
          CliEndToEndTest.custody(
              "monitor",
              "--log",
              a.tiles(),
              "--rules",
              work.resolve("expired.json").toString(),
              "--state",
              work.resolve("expired-state.json").toString(),
              "--once",
              "--no-progress");
      List<JsonNode> ef = findings(expired.out());
      assertEquals(
          2,
          ef.stream()
              .filter(x -> x.get("rule").asText().equals("key-outside-validity-window"))
              .count(),
          expired.out());

      // Another log under the same origin and key, with another history: a split view.
      try (Server b =
          Server.start(work.resolve("b"), Optional.of(work.resolve("a").resolve("log.key")))) {
        for (int i = 0; i < 8; i++)
          b.submit(link(base, "registry.example/base/os", "image b" + i, null, "b" + i, 10 + i));
        args[2] = b.tiles();
        CliEndToEndTest.Run split = CliEndToEndTest.custody(args);
        assertEquals(3, split.code(), split.out());
        List<JsonNode> sf = findings(split.out());
        assertEquals(1, sf.size(), split.out());
        assertEquals("log-fault:inconsistent-checkpoint", sf.get(0).get("rule").asText());
        assertTrue(sf.get(0).get("log_fault").asBoolean());
      }
    }
    // A log whose entries are not layer links at all: every entry is a malformed leaf, a log fault.
    try (CustodyServer opaque =
        CustodyServer.start(
            ServerConfig.builder(work.resolve("opaque"))
                .origin("monitor.test/log")
                .keyFile(work.resolve("a").resolve("log.key"))
                .anyPorts()
                .acceptAnyEntry(true)
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> {})) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", opaque.grpcPort()).usePlaintext().build();
      TransparencyLogGrpc.newBlockingStub(ch)
          .submit(
              SubmitRequest.newBuilder().setEntry(ByteString.copyFromUtf8("not a link")).build());
      ch.shutdownNow();
      CliEndToEndTest.Run r =
          CliEndToEndTest.custody(
              "monitor",
              "--log",
              "http://127.0.0.1:" + opaque.httpPort() + "/",
              "--rules",
              work.resolve("rules.json").toString(),
              "--once",
              "--no-progress");
      assertEquals(3, r.code(), r.out());
      assertEquals("log-fault:malformed-leaf", findings(r.out()).get(0).get("rule").asText());
    }
  }
}
