package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.testing.OciLayouts;
import dev.custody.verify.TlogProof;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's walkthrough, run for real: three teams sign layers of real OCI layouts with the
 * `custody` command line, submit them to a real server over gRPC, and a verifier checks the image
 * online and offline; then each tamper case fails with its message.
 */
class CliEndToEndTest {
  @TempDir static Path work;
  static CustodyServer server;
  static String address;

  @BeforeAll
  static void start() throws Exception {
    server =
        CustodyServer.start(
            ServerConfig.builder(work.resolve("data"))
                .origin("cli.test/custody")
                .anyPorts()
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> {});
    address = "127.0.0.1:" + server.grpcPort();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  record Run(int code, String out) {}

  /** The server's count of finished gRPC calls of {@code method}, from its /metrics. */
  static double calls(String method) throws Exception {
    String text =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.httpPort() + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    double total = 0;
    for (String line : text.lines().toList()) {
      if (line.startsWith("custody_grpc_request_seconds_count{")
          && line.contains("method=\"" + method + "\"")) {
        total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  static Run custody(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream p = new PrintStream(buf, true, StandardCharsets.UTF_8);
    System.setOut(p);
    System.setErr(p);
    int code;
    try {
      code = CustodyCli.run(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    oldOut.print(out);
    return new Run(code, out);
  }

  static Run ok(String... args) {
    Run r = custody(args);
    assertEquals(0, r.code, String.join(" ", args) + "\n" + r.out);
    return r;
  }

  static String p(String name) {
    return work.resolve(name).toString();
  }

  @Test
  void threeTeamsSignSubmitAndAVerifierChecksTheImage() throws Exception {
    OciLayouts.build(work.resolve("oci"), 3, "walkthrough");
    ok("keygen", "--no-password", "--out", p("base"));
    ok("keygen", "--no-password", "--type", "ecdsa-p256", "--out", p("runtime"));
    ok("keygen", "--no-password", "--out", p("app"));
    ok("keygen", "--no-password", "--out", p("intruder"));
    Run again = custody("keygen", "--no-password", "--out", p("base"));
    assertTrue(
        again.code != 0 && again.out.contains("refusing to overwrite a private key"), again.out);
    String oci = p("oci");
    ok(
        "sign",
        "--layout",
        oci,
        "--image",
        "step0",
        "--repository",
        "registry.example/base/os",
        "--key",
        p("base.key"),
        "--out",
        p("base.links"));
    ok(
        "sign",
        "--layout",
        oci,
        "--image",
        "step1",
        "--repository",
        "registry.example/runtime/jre",
        "--key",
        p("runtime.key"),
        "--on",
        p("base.links"),
        "--out",
        p("runtime.links"));
    ok(
        "sign",
        "--layout",
        oci,
        "--image",
        "step2",
        "--repository",
        "registry.example/apps/service",
        "--key",
        p("app.key"),
        "--on",
        p("runtime.links"),
        "--out",
        p("app.links"));
    ok(
        "sign",
        "--layout",
        oci,
        "--image",
        "step2",
        "--repository",
        "registry.example/apps/service",
        "--key",
        p("intruder.key"),
        "--on",
        p("runtime.links"),
        "--out",
        p("intruder.links"));

    // The log refuses a link whose predecessor it has not logged.
    Run early = custody("submit", "--server", address, p("app.links"));
    assertTrue(early.code != 0 && early.out.contains("predecessor"), early.out);

    // Two teams' links, a chain of two, in one call: the server counts one SubmitBatch, no Submit.
    double batchesBefore = calls("SubmitBatch");
    double unaryBefore = calls("Submit");
    ok("submit", "--server", address, p("base.links"), p("runtime.links"));
    assertEquals(batchesBefore + 1, calls("SubmitBatch"), "one call for the whole chain");
    assertEquals(unaryBefore, calls("Submit"));
    Run info = ok("info", "--server", address);
    String vkey =
        info.out
            .lines()
            .filter(l -> l.startsWith("verifier_key "))
            .findFirst()
            .orElseThrow()
            .substring(13);
    Files.writeString(
        work.resolve("policy.json"),
        """
        {"log": {"origin": "cli.test/custody", "verifier_key": "%s"},
         "signers": [
           {"name": "base OS team", "public_key_file": "base.pub", "repositories": ["registry.example/base/*"], "layers": {"min": 0, "max": 0}},
           {"name": "runtime team", "public_key_file": "runtime.pub", "repositories": ["registry.example/runtime/*"], "layers": {"min": 1, "max": 1}},
           {"name": "application team", "public_key_file": "app.pub", "repositories": ["registry.example/apps/*"], "layers": {"min": 2, "max": 2}}
         ]}
        """
            .formatted(vkey));
    String[] verify = {
      "verify",
      "--server",
      address,
      "--policy",
      p("policy.json"),
      "--layout",
      oci,
      "--image",
      "step2",
      "--checkpoint-store",
      p("store")
    };

    // Only an intruder's link for the top layer: refused, naming the layer and the reason.
    ok("submit", "--server", address, p("intruder.links"));
    Run unknown = custody(verify);
    assertEquals(1, unknown.code, unknown.out);
    assertTrue(
        unknown.out.contains("layer 2: FAIL: signed by a key the policy does not trust"),
        unknown.out);

    // The application team's own link: verified (the intruder's chain stays in the log for
    // monitors).
    ok("submit", "--server", address, p("app.links"));
    Run dup = ok("submit", "--server", address, p("app.links"));
    assertTrue(dup.out.contains("already logged"), dup.out);
    Run good = ok(verify);
    assertTrue(good.out.contains("VERIFIED: every layer"), good.out);

    // Offline, from a bundle.
    Run ambiguous =
        custody(
            "bundle",
            "--server",
            address,
            "--layout",
            oci,
            "--image",
            "step2",
            "--out",
            p("app.bundle.json"));
    assertTrue(ambiguous.code != 0 && ambiguous.out.contains("give a policy"), ambiguous.out);
    ok(
        "bundle",
        "--server",
        address,
        "--layout",
        oci,
        "--image",
        "step2",
        "--policy",
        p("policy.json"),
        "--out",
        p("app.bundle.json"));
    Run offline =
        ok(
            "verify",
            "--policy",
            p("policy.json"),
            "--layout",
            oci,
            "--image",
            "step2",
            "--bundle",
            p("app.bundle.json"));
    assertTrue(offline.out.contains("VERIFIED"), offline.out);
    // The same links, with the checkpoint and proofs taken fresh from the log's tiles.
    Run viaTiles =
        ok(
            "verify",
            "--policy",
            p("policy.json"),
            "--layout",
            oci,
            "--image",
            "step2",
            "--bundle",
            p("app.bundle.json"),
            "--tiles",
            "http://127.0.0.1:" + server.httpPort() + "/",
            "--checkpoint-store",
            p("store"));
    assertTrue(viaTiles.out.contains("VERIFIED"), viaTiles.out);
    Run json =
        ok(
            "verify",
            "--policy",
            p("policy.json"),
            "--layout",
            oci,
            "--image",
            "step2",
            "--bundle",
            p("app.bundle.json"),
            "--json");
    assertTrue(json.out.contains("\"verified\":true"), json.out);

    // A tampered layer.
    Path tampered = work.resolve("oci-tampered");
    OciLayouts.build(tampered, 3, "walkthrough");
    String layer1 = layerBlob(tampered, 1);
    byte[] blob = Files.readAllBytes(tampered.resolve("blobs/sha256/" + layer1));
    blob[blob.length / 2] ^= 1;
    Files.write(tampered.resolve("blobs/sha256/" + layer1), blob);
    // (Its own checkpoint store: the default one in $HOME may hold another test log's checkpoint
    // under this origin.)
    Run t =
        custody(
            "verify",
            "--server",
            address,
            "--policy",
            p("policy.json"),
            "--layout",
            tampered.toString(),
            "--image",
            "step2",
            "--checkpoint-store",
            p("store"));
    assertEquals(1, t.code, t.out);
    assertTrue(t.out.contains("layer 1 blob does not match its digest"), t.out);

    // A missing link: the runtime team's link removed from the bundle.
    String b = Files.readString(work.resolve("app.bundle.json"));
    var tree = new ObjectMapper().readTree(b);
    ((ArrayNode) tree.get("links")).remove(1);
    Files.writeString(work.resolve("missing.bundle.json"), tree.toString());
    Run missing =
        custody(
            "verify",
            "--policy",
            p("policy.json"),
            "--layout",
            oci,
            "--image",
            "step2",
            "--bundle",
            p("missing.bundle.json"));
    assertEquals(1, missing.code, missing.out);
    assertTrue(missing.out.contains("layer 1: FAIL: no logged link for this layer"), missing.out);

    // Raw access for operators.
    assertTrue(ok("checkpoint", "--server", address).out.startsWith("cli.test/custody\n"));
    assertTrue(
        ok("proof", "inclusion", "--server", address, "--index", "0").out.contains("tree_size"));
    assertTrue(
        ok("proof", "consistency", "--server", address, "--from", "1").out.startsWith("from 1 to"));
    assertTrue(custody("--help").out.contains("Signers:"));

    // Proof files other tools read (C2SP tlog-proof): one per link, each verified offline.
    Path proofs = work.resolve("proofs");
    ok(
        "bundle",
        "--server",
        address,
        "--layout",
        oci,
        "--image",
        "step2",
        "--policy",
        p("policy.json"),
        "--format",
        "tlog-proof",
        "--out",
        proofs.toString());
    List<String> files = new ArrayList<>(List.of("verify-proof", "--policy", p("policy.json")));
    for (int i = 0; i < 3; i++) files.add(proofs.resolve("layer-" + i + ".tlog-proof").toString());
    Run proved = ok(files.toArray(String[]::new));
    assertEquals(
        3,
        proved.out.split("VERIFIED: signed, allowed, and publicly logged", -1).length - 1,
        proved.out);
    assertTrue(proved.out.contains("layer 2 of registry.example/apps/service"), proved.out);
    // The same entry by index, against the same checkpoint: the same bytes.
    byte[] top = Files.readAllBytes(proofs.resolve("layer-2.tlog-proof"));
    long topIndex = TlogProof.parse(top).index();
    ok(
        "proof",
        "--server",
        address,
        "--policy",
        p("policy.json"),
        "--index",
        Long.toString(topIndex),
        "--out",
        p("by-index.tlog-proof"));
    assertArrayEquals(top, Files.readAllBytes(work.resolve("by-index.tlog-proof")));
    // A flipped proof hash: refused, and said why; the exit status is 1.
    String text = new String(top, StandardCharsets.UTF_8);
    String[] lines = text.split("\n", -1);
    char c = lines[3].charAt(0);
    lines[3] = (c == 'A' ? 'B' : 'A') + lines[3].substring(1);
    Files.writeString(work.resolve("flipped.tlog-proof"), String.join("\n", lines));
    Run flipped = custody("verify-proof", "--policy", p("policy.json"), p("flipped.tlog-proof"));
    assertEquals(1, flipped.code, flipped.out);
    assertTrue(flipped.out.contains("the inclusion proof does not hold"), flipped.out);
    Run noIndex = custody("proof", "--server", address, "--policy", p("policy.json"));
    assertEquals(2, noIndex.code, noIndex.out);
    Run beyond =
        custody("proof", "--server", address, "--policy", p("policy.json"), "--index", "1000000");
    assertTrue(
        beyond.code != 0 && beyond.out.contains("not below the log's tree size"), beyond.out);
    Files.write(work.resolve("huge.tlog-proof"), new byte[TlogProof.MAX_BYTES + 1]);
    Run huge = custody("verify-proof", "--policy", p("policy.json"), p("huge.tlog-proof"));
    assertEquals(1, huge.code, huge.out);
    assertTrue(huge.out.contains("larger than any tlog-proof"), huge.out);
  }

  private static String layerBlob(Path layout, int layer) throws Exception {
    var m = new ObjectMapper();
    String manifest =
        m.readTree(layout.resolve("index.json").toFile())
            .get("manifests")
            .get(2)
            .get("digest")
            .asText();
    return m.readTree(layout.resolve("blobs/sha256/" + manifest.substring(7)).toFile())
        .get("layers")
        .get(layer)
        .get("digest")
        .asText()
        .substring(7);
  }
}
