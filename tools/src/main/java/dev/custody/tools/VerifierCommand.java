package dev.custody.tools;

import dev.custody.logclient.LogClient;
import dev.custody.registry.Platform;
import dev.custody.verify.CheckpointStore;
import dev.custody.verify.TrustPolicy;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "verifier",
    mixinStandardHelpOptions = true,
    description = {
      "Serve verdicts to admission controllers: the verification of custody verify REF over HTTP(S).",
      "",
      "  POST /v1/verify    {\"image\": \"registry.example/team/app:1.0\"} -> {\"verified\": true, ...}",
      "  POST /gatekeeper   OPA Gatekeeper's external data provider protocol (externaldata.gatekeeper.sh/v1beta1)",
      "  GET  /metrics      verdict counts and latencies (Prometheus)",
      "",
      "  custody verifier --listen 0.0.0.0:8443 --policy policy.json --server log.example:7300 \\",
      "      --tls-cert tls.crt --tls-key tls.key"
    })
final class VerifierCommand implements Callable<Integer> {
  @Option(
      names = "--listen",
      defaultValue = "127.0.0.1:8443",
      description = "HOST:PORT to serve on. Default: ${DEFAULT-VALUE}")
  String listen;

  @Option(
      names = "--policy",
      required = true,
      description = "Trust policy (JSON): the log and the allowed signers")
  Path policy;

  @Option(
      names = "--tls-cert",
      description = "PEM certificate chain: serve HTTPS (Gatekeeper requires it)")
  Path tlsCert;

  @Option(names = "--tls-key", description = "PEM PKCS#8 private key of --tls-cert")
  Path tlsKey;

  @Option(
      names = "--offline",
      description =
          "Verify from the bundles attached to images in their registries, without the log")
  boolean offline;

  @Option(
      names = "--checkpoint-store",
      description =
          "Where to remember the newest checkpoint of the log. "
              + "Default: ~/.custody/checkpoints")
  Path store;

  @Option(
      names = "--cache-ttl",
      defaultValue = "300",
      description =
          "Seconds a verdict is reused for the same digest "
              + "and checkpoint. Default: ${DEFAULT-VALUE}")
  long cacheTtlSeconds;

  @Option(
      names = "--checkpoint-refresh",
      defaultValue = "10",
      description =
          "Seconds between reads of the log's "
              + "checkpoint (each checked for consistency with the last). Default: ${DEFAULT-VALUE}")
  long refreshSeconds;

  @Option(
      names = "--threads",
      defaultValue = "16",
      description = "Requests verified at once. Default: ${DEFAULT-VALUE}")
  int threads;

  @Mixin LogOptions conn;
  @Mixin RegistryOptions registry;

  @Override
  public Integer call() throws Exception {
    if ((tlsCert == null) != (tlsKey == null))
      throw new IllegalArgumentException("--tls-cert and --tls-key go together");
    TrustPolicy p = TrustPolicy.read(policy);
    SslContext tls =
        tlsCert == null
            ? null
            : SslContextBuilder.forServer(tlsCert.toFile(), tlsKey.toFile()).build();
    CheckpointStore checkpoints =
        new CheckpointStore(store != null ? store : VerifyCommand.defaultStore());
    // Checkpoints it reads are checked against the policy's log keys and the store before any
    // verdict uses them.
    LogClient log =
        offline ? null : conn.builder().trust(p.logVerifier()).checkpointStore(checkpoints).build();
    ReferenceVerifier verifier =
        new ReferenceVerifier(
            p, registry.client(), Platform.parse(registry.platform), log, checkpoints);
    VerificationService service =
        new VerificationService(
            verifier,
            log,
            Duration.ofSeconds(cacheTtlSeconds),
            Duration.ofSeconds(refreshSeconds),
            System::nanoTime);
    HttpEndpoint server = HttpEndpoint.start(listen, tls, 1 << 20, threads, service::handle);
    System.out.println(
        "custody verifier listening on "
            + (tls == null ? "http://" : "https://")
            + listen.substring(0, listen.lastIndexOf(':'))
            + ":"
            + server.port()
            + (offline ? " (offline: attached bundles)" : ""));
    System.out.flush();
    server.serveUntilShutdown(
        () -> {
          if (log != null) log.close();
        });
    return 0;
  }
}
