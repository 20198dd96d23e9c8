package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.custody.api.ClientRetries;
import dev.custody.api.Nodes;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client given a cluster's nodes skips one that does not answer (a dead node) and reaches the
 * next.
 */
class NodesTest {
  @TempDir Path data;

  @Test
  void aDeadFirstNodeIsSkipped() throws Exception {
    int dead;
    try (ServerSocket s = new ServerSocket(0)) {
      dead = s.getLocalPort(); // closed again: connections to it are refused
    }
    try (CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(data)
                .origin("nodes.test/log")
                .grpcPort(0)
                .httpPort(-1)
                .acceptAnyEntry(true)
                .queueCapacity(64)
                .maxBatch(16)
                .build(),
            (n, t) -> {})) {
      ManagedChannel ch =
          ClientRetries.apply(
                  Nodes.channel(
                      "127.0.0.1:" + dead + ",127.0.0.1:" + server.grpcPort(),
                      InsecureChannelCredentials.create()))
              .build();
      try {
        var info =
            TransparencyLogGrpc.newBlockingStub(ch)
                .withDeadlineAfter(20, TimeUnit.SECONDS)
                .getLogInfo(GetLogInfoRequest.getDefaultInstance());
        assertEquals("nodes.test/log", info.getOrigin());
      } finally {
        ch.shutdownNow();
      }
    }
    assertThrows(IllegalArgumentException.class, () -> Nodes.parse("127.0.0.1:7300,nohost"));
    assertThrows(IllegalArgumentException.class, () -> Nodes.parse("h:0"));
  }
}
