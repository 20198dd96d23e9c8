package dev.custody.tools;

import dev.custody.io.DurableFiles;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteVerifier;
import dev.custody.serving.HttpResponse;
import dev.custody.serving.HttpServer;
import dev.custody.serving.Routes;
import dev.custody.witness.Witness;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "witness",
    mixinStandardHelpOptions = true,
    description = {
      "Run a C2SP tlog-witness: POST /add-checkpoint cosigns a log's checkpoint if it is "
          + "signed by the log and consistent with the last one this witness cosigned (state kept "
          + "per origin in --state-dir).",
      "",
      "  custody keygen --type cosigner --name witness.example/w1 --out w1",
      "  custody witness --key w1.key --listen 127.0.0.1:7380 \\",
      "      --log \"$(custody info | sed -n 's/^verifier_key //p')\""
    })
final class WitnessCommand implements Callable<Integer> {
  @Option(
      names = "--key",
      required = true,
      description = "The witness's cosigner key (custody keygen --type cosigner)")
  Path key;

  @Option(
      names = "--log",
      required = true,
      description =
          "A log's verifier key (vkey); repeat for each log to witness, "
              + "and give a log two while it rotates its key (a checkpoint signed by either is cosigned)")
  List<String> logs;

  @Option(
      names = "--listen",
      defaultValue = "127.0.0.1:7380",
      description = "Address to serve on. Default: ${DEFAULT-VALUE}")
  String listen;

  @Option(
      names = "--state-dir",
      defaultValue = "./witness-state",
      description =
          "Where the latest cosigned checkpoint of "
              + "each log is kept. Default: ${DEFAULT-VALUE}")
  Path stateDir;

  @Override
  public Integer call() throws Exception {
    Ed25519NoteKeys.Signer signer = Ed25519NoteKeys.parsePrivateKey(DurableFiles.readPrivate(key));
    Map<String, List<NoteVerifier>> trusted = new HashMap<>();
    for (String v : logs) {
      Ed25519NoteKeys.Verifier lv = Ed25519NoteKeys.parseVerifierKey(v);
      trusted.computeIfAbsent(lv.name(), n -> new ArrayList<>()).add(lv);
    }
    Witness witness = new Witness(signer, trusted, stateDir);
    InetSocketAddress at = Listen.address(listen);
    // Each add-checkpoint checks signatures and syncs the witness's state: a few at a time.
    HttpServer server =
        HttpServer.builder()
            .listen(at.getHostString(), at.getPort())
            .maxRequestBytes(Witness.MAX_REQUEST_BYTES)
            .workerThreads(4)
            .name("custody-witness")
            .start(
                Routes.builder()
                    .route(
                        Set.of("POST"),
                        "/add-checkpoint",
                        request -> {
                          Witness.Response r = witness.addCheckpoint(request.body());
                          return new HttpResponse(r.status(), r.contentType(), r.body());
                        })
                    .build());
    System.out.println(
        "custody witness listening on "
            + listen.substring(0, listen.lastIndexOf(':'))
            + ":"
            + server.port()
            + " vkey "
            + witness.verifierKey()
            + " logs "
            + trusted.keySet());
    System.out.flush();
    server.serveUntilShutdown(() -> {});
    return 0;
  }
}
