package dev.custody.tools;

import dev.custody.api.v1.ChainLookupGrpc;
import dev.custody.api.v1.TransparencyLogGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/** The {@code --server} option and the gRPC channel it opens (plaintext: TLS comes with hardening). */
final class LogConnection implements AutoCloseable {
  static final class Options {
    @Option(names = "--server", defaultValue = "localhost:7300", description = "The log's gRPC address. Default: ${DEFAULT-VALUE}")
    String server;

    @Option(names = "--timeout", defaultValue = "30", description = "Seconds to wait for each call. Default: ${DEFAULT-VALUE}")
    int timeoutSeconds;
  }

  private final ManagedChannel channel;
  private final int timeout;

  LogConnection(Options o) {
    int colon = o.server.lastIndexOf(':');
    if (colon < 0) throw new IllegalArgumentException("--server must be host:port, not " + o.server);
    this.channel = ManagedChannelBuilder.forAddress(o.server.substring(0, colon), Integer.parseInt(o.server.substring(colon + 1)))
        .usePlaintext().build();
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
