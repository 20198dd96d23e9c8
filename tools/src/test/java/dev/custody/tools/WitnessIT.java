package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.note.Base64s;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.keys.LogKeys;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real `custody witness` process against real log checkpoints: every status code the spec lists.
 */
class WitnessIT {
  private static final Pattern LISTENING =
      Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) vkey (\\S+)");
  @TempDir Path work;
  final HttpClient http = HttpClient.newHttpClient();

  record Log(
      CustodyServer server, ManagedChannel ch, TransparencyLogGrpc.TransparencyLogBlockingStub stub)
      implements AutoCloseable {
    static Log start(Path dir, String origin, Optional<Path> key) throws Exception {
      CustodyServer s =
          CustodyServer.start(
              ServerConfig.builder(dir)
                  .origin(origin)
                  .keys(key.map(LogKeys.DEFAULT::withKeyFile).orElse(LogKeys.DEFAULT))
                  .grpcPort(0)
                  .httpPort(-1)
                  .acceptAnyEntry(true)
                  .queueCapacity(1024)
                  .maxBatch(256)
                  .build(),
              (n, t) -> {});
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", s.grpcPort()).usePlaintext().build();
      return new Log(
          s, ch, TransparencyLogGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS));
    }

    String grow(int to, String tag) {
      long size = stub.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
      for (long i = size; i < to; i++) {
        stub.submit(
            SubmitRequest.newBuilder().setEntry(ByteString.copyFromUtf8(tag + " " + i)).build());
      }
      return stub.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote();
    }

    String proofLines(long from, long to) {
      StringBuilder b = new StringBuilder();
      stub.getConsistencyProof(
              GetConsistencyProofRequest.newBuilder().setFromSize(from).setToSize(to).build())
          .getHashesList()
          .forEach(h -> b.append(Base64s.encode(h.toByteArray())).append('\n'));
      return b.toString();
    }

    @Override
    public void close() {
      ch.shutdownNow();
      server.close();
    }
  }

  record Child(Process p, int port, String vkey) {}

  Child witness(String logVkey) throws Exception {
    return startWitness(work.resolve("w1.key"), logVkey, work.resolve("state"));
  }

  /** A `custody witness` child process on a free loopback port. */
  static Child startWitness(Path key, String logVkey, Path stateDir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Process p =
        new ProcessBuilder(
                java,
                "-cp",
                cp,
                CustodyCli.class.getName(),
                "witness",
                "--key",
                key.toString(),
                "--log",
                logVkey,
                "--listen",
                "127.0.0.1:0",
                "--state-dir",
                stateDir.toString())
            .redirectErrorStream(true)
            .start();
    CompletableFuture<Child> ready = new CompletableFuture<>();
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                  Matcher m = LISTENING.matcher(line);
                  if (m.find())
                    ready.complete(new Child(p, Integer.parseInt(m.group(1)), m.group(2)));
                  else System.out.println("witness: " + line);
                }
              } catch (Exception ignored) {
                // process ended
              }
              ready.completeExceptionally(new AssertionError("witness exited"));
            });
    t.setDaemon(true);
    t.start();
    return ready.get(60, TimeUnit.SECONDS);
  }

  HttpResponse<String> add(Child w, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + w.port() + "/add-checkpoint"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void everyStatusTheSpecLists() throws Exception {
    CustodyCli.run(
        "keygen",
        "--type",
        "cosigner",
        "--name",
        "witness.test/w1",
        "--out",
        work.resolve("w1").toString());
    try (Log a = Log.start(work.resolve("a"), "witness.test/log", Optional.empty());
        Log other = Log.start(work.resolve("o"), "other.test/log", Optional.empty())) {
      String vkey = a.stub.getLogInfo(GetLogInfoRequest.getDefaultInstance()).getVerifierKey();
      Child w = witness(vkey);
      try {
        Ed25519NoteKeys.Verifier wv = Ed25519NoteKeys.parseVerifierKey(w.vkey());
        String c10 = a.grow(10, "a");
        HttpResponse<String> ok = add(w, "old 0\n\n" + c10);
        assertEquals(200, ok.statusCode(), ok.body());
        assertTrue(ok.body().startsWith("\u2014 witness.test/w1 "), ok.body());
        SignedNote.parse(c10 + ok.body())
            .verify(List.of(wv)); // the cosignature verifies on the checkpoint

        HttpResponse<String> conflict = add(w, "old 0\n\n" + c10);
        assertEquals(409, conflict.statusCode());
        assertEquals("10\n", conflict.body());
        assertEquals(
            "text/x.tlog.size", conflict.headers().firstValue("content-type").orElseThrow());

        String c15 = a.grow(15, "a");
        assertEquals(200, add(w, "old 10\n" + a.proofLines(10, 15) + "\n" + c15).statusCode());
        assertEquals(200, add(w, "old 15\n\n" + c15).statusCode(), "the same checkpoint again");

        // Same origin and key, another history: refused as inconsistent.
        try (Log fork =
            Log.start(
                work.resolve("f"),
                "witness.test/log",
                Optional.of(work.resolve("a").resolve("log.key")))) {
          String f20 = fork.grow(20, "fork");
          HttpResponse<String> bad = add(w, "old 15\n" + fork.proofLines(15, 20) + "\n" + f20);
          assertEquals(422, bad.statusCode(), bad.body());
        }
        assertEquals(
            422,
            add(w, "old 15\n" + a.proofLines(10, 15) + "\n" + a.grow(20, "a")).statusCode(),
            "wrong proof");
        assertEquals(404, add(w, "old 0\n\n" + other.grow(3, "o")).statusCode(), "unknown origin");
        String tampered =
            c15.substring(0, c15.length() - 6)
                + (c15.charAt(c15.length() - 6) == 'A' ? "B" : "A")
                + c15.substring(c15.length() - 5);
        assertEquals(
            403, add(w, "old 15\n\n" + tampered).statusCode(), "a bad signature by the log's key");
        Ed25519NoteKeys.Signer impostor =
            Ed25519NoteKeys.generate("witness.test/log", new SecureRandom());
        String forged = SignedNote.sign(SignedNote.parse(c15).text(), impostor).format();
        assertEquals(
            403, add(w, "old 15\n\n" + forged).statusCode(), "no signature by a trusted key");
        assertEquals(
            400, add(w, "old 99\n\n" + c15).statusCode(), "old size above the checkpoint's");
        assertEquals(400, add(w, "old 015\n\n" + c15).statusCode(), "non-canonical old size");
        assertEquals(400, add(w, "hello").statusCode());
        HttpResponse<String> get =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + w.port() + "/add-checkpoint"))
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(405, get.statusCode());
      } finally {
        w.p().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
      // The state survives a restart: the witness still knows it cosigned size 15.
      Child again = witness(vkey);
      try {
        HttpResponse<String> conflict = add(again, "old 0\n\n" + a.grow(20, "a"));
        assertEquals(409, conflict.statusCode());
        assertEquals("15\n", conflict.body());
      } finally {
        again.p().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void halfRequestsHoldNoThreadAndAreClosedInTime() throws Exception {
    CustodyCli.run(
        "keygen",
        "--type",
        "cosigner",
        "--name",
        "witness.test/w1",
        "--out",
        work.resolve("w1").toString());
    try (Log a = Log.start(work.resolve("a"), "witness.test/log", Optional.empty())) {
      String vkey = a.stub.getLogInfo(GetLogInfoRequest.getDefaultInstance()).getVerifierKey();
      Child w = witness(vkey);
      List<Socket> half = new ArrayList<>();
      try {
        // Many more stalled requests than the old server had threads (it had four).
        for (int i = 0; i < 60; i++) {
          Socket sock = new Socket("127.0.0.1", w.port());
          sock.getOutputStream()
              .write("POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Le".getBytes());
          half.add(sock);
        }
        long t0 = System.nanoTime();
        String c3 = a.grow(3, "a");
        HttpResponse<String> ok =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + w.port() + "/add-checkpoint"))
                    .timeout(Duration.ofSeconds(5))
                    .POST(HttpRequest.BodyPublishers.ofString("old 0\n\n" + c3))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ok.statusCode(), ok.body());
        assertTrue(
            System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5),
            "a valid request is answered at once");
        // The stalled ones are closed once the request deadline (10 s) passes.
        Thread.sleep(11_000);
        for (Socket sock : half) {
          sock.setSoTimeout(5_000);
          int b;
          try {
            b = sock.getInputStream().read();
          } catch (IOException reset) {
            b = -1;
          }
          assertEquals(-1, b, "a half request is closed by the witness");
        }
      } finally {
        for (Socket sock : half) sock.close();
        w.p().destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    }
  }
}
