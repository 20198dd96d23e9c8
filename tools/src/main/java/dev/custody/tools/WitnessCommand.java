package dev.custody.tools;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteVerifier;
import dev.custody.witness.Witness;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "witness", mixinStandardHelpOptions = true,
    description = {"Run a C2SP tlog-witness: POST /add-checkpoint cosigns a log's checkpoint if it is signed by the",
        "log and consistent with the last one this witness cosigned (state kept per origin in --state-dir).",
        "",
        "  custody keygen --type cosigner --name witness.example/w1 --out w1",
        "  custody witness --key w1.key --log \"$(custody info | sed -n 's/^verifier_key //p')\" --listen 127.0.0.1:7380"})
final class WitnessCommand implements Callable<Integer> {
  @Option(names = "--key", required = true, description = "The witness's cosigner key (custody keygen --type cosigner)")
  Path key;

  @Option(names = "--log", required = true, description = "A log's verifier key (vkey); repeat for each log to witness")
  List<String> logs;

  @Option(names = "--listen", defaultValue = "127.0.0.1:7380", description = "Address to serve on. Default: ${DEFAULT-VALUE}")
  String listen;

  @Option(names = "--state-dir", defaultValue = "./witness-state", description = "Where the latest cosigned checkpoint of "
      + "each log is kept. Default: ${DEFAULT-VALUE}")
  Path stateDir;

  private HttpServer server;
  private final CountDownLatch started = new CountDownLatch(1);

  @Override public Integer call() throws Exception {
    Ed25519NoteKeys.Signer signer = Ed25519NoteKeys.parsePrivateKey(Files.readString(key));
    Map<String, NoteVerifier> trusted = new HashMap<>();
    for (String v : logs) {
      Ed25519NoteKeys.Verifier lv = Ed25519NoteKeys.parseVerifierKey(v);
      trusted.put(lv.name(), lv);
    }
    Witness witness = new Witness(signer, trusted, stateDir);
    int colon = listen.lastIndexOf(':');
    server = HttpServer.create(new InetSocketAddress(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1))), 64);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.createContext("/", ex -> {
      try (ex) {
        if (!ex.getRequestURI().getPath().equals("/add-checkpoint")) {
          send(ex, new Witness.Response(404, "text/plain; charset=utf-8", "not found\n".getBytes()));
        } else if (!ex.getRequestMethod().equals("POST")) {
          ex.getResponseHeaders().set("Allow", "POST");
          send(ex, new Witness.Response(405, "text/plain; charset=utf-8", "POST only\n".getBytes()));
        } else {
          send(ex, witness.addCheckpoint(readLimited(ex.getRequestBody())));
        }
      }
    });
    server.start();
    System.out.println("custody witness listening on " + listen.substring(0, colon) + ":" + server.getAddress().getPort()
        + " vkey " + witness.verifierKey() + " logs " + trusted.keySet());
    System.out.flush();
    started.countDown();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(1)));
    new CountDownLatch(1).await();
    return 0;
  }

  private static byte[] readLimited(InputStream in) throws IOException {
    byte[] b = in.readNBytes(Witness.MAX_REQUEST_BYTES + 1);
    return b;
  }

  private static void send(HttpExchange ex, Witness.Response r) throws IOException {
    ex.getResponseHeaders().set("Content-Type", r.contentType());
    ex.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
    if (r.body().length > 0) ex.getResponseBody().write(r.body());
  }
}
