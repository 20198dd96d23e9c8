package dev.custody.tools;

import dev.custody.logclient.LogClient;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The {@code --server} options every command that talks to the log shares, and the client they
 * open.
 */
final class LogOptions {
  @Option(
      names = "--server",
      defaultValue = "localhost:7300",
      description =
          "The log's gRPC address; for a cluster, "
              + "its nodes: host:port,host:port,... (a node that does not answer is skipped). Default: ${DEFAULT-VALUE}")
  String server;

  @Option(
      names = "--timeout",
      defaultValue = "30",
      description =
          "Seconds each call may take, retries with backoff "
              + "included (a busy or restarting log is retried). Default: ${DEFAULT-VALUE}")
  int timeoutSeconds;

  @Option(
      names = "--tls-ca",
      description = "PEM CA certificate(s) to trust: talk to the log over TLS")
  Path tlsCa;

  @Option(
      names = "--client-cert",
      description = "PEM client certificate, for logs that want one to submit (with --client-key)")
  Path clientCert;

  @Option(names = "--client-key", description = "PEM PKCS#8 private key of --client-cert")
  Path clientKey;

  /**
   * A client for the log these options name; answers are checked only where a caller pins the log's
   * keys.
   */
  LogClient client() {
    return builder().build();
  }

  LogClient.Builder builder() {
    if ((clientCert == null) != (clientKey == null))
      throw new IllegalArgumentException("--client-cert and --client-key go together");
    if (clientCert != null && tlsCa == null)
      throw new IllegalArgumentException("--client-cert needs --tls-ca");
    LogClient.Builder b = LogClient.builder(server).timeout(Duration.ofSeconds(timeoutSeconds));
    if (tlsCa != null) b.tls(tlsCa);
    if (clientCert != null) b.clientCertificate(clientCert, clientKey);
    return b;
  }
}
