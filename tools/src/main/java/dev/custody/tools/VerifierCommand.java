package dev.custody.tools;

import dev.custody.http.OutboundPolicy;
import dev.custody.logclient.LogClient;
import dev.custody.registry.Platform;
import dev.custody.registry.RegistryClient;
import dev.custody.serving.HttpServer;
import dev.custody.verify.CheckpointStore;
import dev.custody.verify.TrustPolicy;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "verifier",
    mixinStandardHelpOptions = true,
    description = {
      "Serve verdicts to admission controllers: the verification of custody verify REF over "
          + "HTTP(S).",
      "",
      "  POST /v1/verify    {\"image\": \"registry.example/app:1.0\"}",
      "                     -> {\"verified\": true, ...}",
      "  POST /gatekeeper   OPA Gatekeeper's external data provider protocol",
      "                     (externaldata.gatekeeper.sh/v1beta1)",
      "  GET  /metrics      verdict counts and latencies (Prometheus)",
      "  GET  /healthz      ok, at once, whatever the registries do",
      "",
      "It fetches only from public addresses unless a registry is allowed by name "
          + "(--allow-registry), and only images of repositories its policy's signers name. "
          + "Options may also come from a file: custody verifier @/etc/custody/verifier.args",
      "",
      "  custody verifier --listen 0.0.0.0:8443 --policy policy.json \\",
      "      --server log.example:7300 --tls-cert tls.crt --tls-key tls.key"
    })
final class VerifierCommand implements Callable<Integer> {
  /** The largest request: a Gatekeeper batch of 256 image keys, with room to spare. */
  static final int MAX_REQUEST_BYTES = 1 << 20;

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
      defaultValue = "64",
      description =
          "Verifications under way at once, all registries together (more wait, up to 8 per "
              + "thread; past that a request is answered busy). Default: ${DEFAULT-VALUE}")
  int threads;

  @Option(
      names = "--per-registry",
      defaultValue = "16",
      description =
          "Verifications under way at once against one registry: a registry that stalls holds no "
              + "more (past it: busy, retry). Default: ${DEFAULT-VALUE}")
  int perRegistry;

  @Option(
      names = "--request-timeout",
      defaultValue = "10",
      description =
          "Seconds for one request, registry calls, retries, redirects and tokens included: a "
              + "verdict, or a timeout, by then. Default: ${DEFAULT-VALUE}")
  long requestTimeoutSeconds;

  @Option(
      names = "--cache-bytes",
      defaultValue = "67108864",
      description =
          "The most the cache of images read from registries holds, in bytes. Default: "
              + "${DEFAULT-VALUE} (64 MiB)")
  long cacheBytes;

  @Option(
      names = "--allow-registry",
      paramLabel = "HOST[:PORT]",
      description =
          "A registry this service may reach although it resolves to an internal address "
              + "(loopback, private, link-local): your own registries (repeatable). Every other "
              + "host, and every redirect, token realm and next page, must resolve to public "
              + "addresses")
  List<String> allowRegistry = new ArrayList<>();

  @Option(
      names = "--max-referrers",
      defaultValue = "1024",
      description =
          "The most artifacts one image's referrers listing may name; a longer listing is "
              + "refused, not read. Default: ${DEFAULT-VALUE}")
  int maxReferrers;

  @Option(
      names = "--client-ca",
      paramLabel = "FILE",
      description =
          "Require a client certificate issued by this CA (PEM) on every request: only callers "
              + "you gave a certificate (the API server, Gatekeeper) may ask. Needs --tls-cert")
  Path clientCa;

  @Mixin LogOptions conn;
  @Mixin RegistryOptions registry;

  /**
   * HTTPS with this certificate; with {@code clientCa}, callers must present a certificate it
   * issued (required, not optional: the flag exists to close the port to strangers).
   */
  static SslContext serverTls(Path cert, Path key, Path clientCa) throws IOException {
    SslContextBuilder b = SslContextBuilder.forServer(cert.toFile(), key.toFile());
    if (clientCa != null) b.trustManager(clientCa.toFile()).clientAuth(ClientAuth.REQUIRE);
    return b.build();
  }

  @Override
  public Integer call() throws Exception {
    if ((tlsCert == null) != (tlsKey == null))
      throw new IllegalArgumentException("--tls-cert and --tls-key go together");
    if (clientCa != null && tlsCert == null)
      throw new IllegalArgumentException("--client-ca needs --tls-cert and --tls-key");
    TrustPolicy p = TrustPolicy.read(policy);
    SslContext tls = tlsCert == null ? null : serverTls(tlsCert, tlsKey, clientCa);
    VerificationService.Limits limits =
        new VerificationService.Limits(
            Duration.ofSeconds(requestTimeoutSeconds), threads, perRegistry);
    RegistryClient client =
        registry.client(
            b ->
                b.outbound(OutboundPolicy.publicOnly(Set.copyOf(allowRegistry)))
                    .maxReferrers(maxReferrers));
    CheckpointStore checkpoints =
        new CheckpointStore(store != null ? store : VerifyCommand.defaultStore());
    // Checkpoints it reads are checked against the policy's log keys and the store before any
    // verdict uses them.
    LogClient log =
        offline ? null : conn.builder().trust(p.logVerifier()).checkpointStore(checkpoints).build();
    ReferenceVerifier verifier =
        new ReferenceVerifier(
            p, client, Platform.parse(registry.platform), log, checkpoints, cacheBytes);
    VerificationService service =
        new VerificationService(
            verifier,
            client,
            log,
            Duration.ofSeconds(cacheTtlSeconds),
            Duration.ofSeconds(refreshSeconds),
            limits,
            System::nanoTime);
    InetSocketAddress at = Listen.address(listen);
    HttpServer server =
        HttpServer.builder()
            .listen(at.getHostString(), at.getPort())
            .tls(tls)
            .maxRequestBytes(MAX_REQUEST_BYTES)
            .name("custody-verifier")
            .start(service.routes());
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
          service.close();
          if (log != null) log.close();
        });
    return 0;
  }
}
