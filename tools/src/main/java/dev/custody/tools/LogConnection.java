package dev.custody.tools;

import dev.custody.api.v1.ChainLookupGrpc;
import dev.custody.api.v1.TransparencyLogGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/** The {@code --server} options and the gRPC channel they open: plaintext, or TLS with {@code --tls-ca}. */
final class LogConnection implements AutoCloseable {
  static final class Options {
    @Option(names = "--server", defaultValue = "localhost:7300", description = "The log's gRPC address; for a cluster, "
        + "its nodes: host:port,host:port,... (a node that does not answer is skipped). Default: ${DEFAULT-VALUE}")
    String server;

    @Option(names = "--timeout", defaultValue = "30", description = "Seconds each call may take, retries with backoff included (a busy or restarting log is "
        + "retried). Default: ${DEFAULT-VALUE}")
    int timeoutSeconds;

    @Option(names = "--tls-ca", description = "PEM CA certificate(s) to trust: talk to the log over TLS")
    java.nio.file.Path tlsCa;

    @Option(names = "--client-cert", description = "PEM client certificate, for logs that want one to submit (with --client-key)")
    java.nio.file.Path clientCert;

    @Option(names = "--client-key", description = "PEM PKCS#8 private key of --client-cert")
    java.nio.file.Path clientKey;

    ChannelCredentials credentials() throws java.io.IOException {
      if ((clientCert == null) != (clientKey == null)) {
        throw new IllegalArgumentException("--client-cert and --client-key go together");
      }
      if (tlsCa == null) {
        if (clientCert != null) throw new IllegalArgumentException("--client-cert needs --tls-ca");
        return InsecureChannelCredentials.create();
      }
      TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder().trustManager(tlsCa.toFile());
      if (clientCert != null) b.keyManager(clientCert.toFile(), clientKey.toFile());
      return b.build();
    }
  }

  private final ManagedChannel channel;
  private final int timeout;

  LogConnection(Options o) {
    ChannelCredentials creds;
    try {
      creds = o.credentials();
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot read the TLS files: " + e.getMessage(), e);
    }
    // Pushback and restarts are retried with backoff within --timeout (ClientRetries); resubmitting is idempotent.
    try {
      this.channel = dev.custody.api.ClientRetries.apply(dev.custody.api.Nodes.channel(o.server, creds)).build();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--server " + o.server + ": " + e.getMessage(), e);
    }
    this.timeout = o.timeoutSeconds;
  }

  TransparencyLogGrpc.TransparencyLogBlockingStub log() {
    return TransparencyLogGrpc.newBlockingStub(channel).withDeadlineAfter(timeout, TimeUnit.SECONDS);
  }

  ChainLookupGrpc.ChainLookupBlockingStub lookup() {
    return ChainLookupGrpc.newBlockingStub(channel).withDeadlineAfter(timeout, TimeUnit.SECONDS);
  }

  @Override public void close() {
    channel.shutdownNow();
  }
}
