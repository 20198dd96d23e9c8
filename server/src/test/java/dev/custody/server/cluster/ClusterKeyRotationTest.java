package dev.custody.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.ClientRetries;
import dev.custody.api.Nodes;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.keys.LogKeyFile;
import dev.custody.server.keys.LogKeys;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rotation of docs/keys.md on a three-node Ratis cluster, node by node while the others keep
 * the log writable: after the overlap every node serves checkpoints signed by both keys, after the
 * retirement by the new key alone, and the old key opens none of them.
 */
class ClusterKeyRotationTest {
  static final String ORIGIN = "cluster-rotation.test/log";

  @TempDir Path dir;
  private final Map<String, CustodyServer> nodes = new LinkedHashMap<>();
  private Peers peers;

  private CustodyServer start(String id, LogKeys keys) throws Exception {
    CustodyServer s =
        CustodyServer.start(
            ServerConfig.builder(dir.resolve(id))
                .origin(ORIGIN)
                .keys(keys)
                .grpcPort(0)
                .httpPort(-1)
                .acceptAnyEntry(true)
                .cluster(
                    new ClusterNode.Settings(
                        id,
                        peers,
                        dir.resolve(id).resolve("raft"),
                        ClusterNode.Settings.SNAPSHOT_EVERY,
                        Duration.ZERO,
                        Duration.ofMillis(300),
                        Duration.ofMillis(600),
                        false))
                .build(),
            (n, t) -> {});
    nodes.put(id, s);
    return s;
  }

  /** Restarts the nodes one at a time with {@code keys}: two of three always run. */
  private void rollingRestart(LogKeys keys) throws Exception {
    for (String id : List.copyOf(nodes.keySet())) {
      nodes.remove(id).close();
      start(id, keys);
    }
  }

  /** Submits one entry through any node, then waits until every node has applied it. */
  private long submit(String entry) throws Exception {
    StringBuilder targets = new StringBuilder();
    for (CustodyServer s : nodes.values()) {
      targets.append(targets.length() == 0 ? "" : ",").append("127.0.0.1:").append(s.grpcPort());
    }
    ManagedChannel ch =
        ClientRetries.apply(Nodes.channel(targets.toString(), InsecureChannelCredentials.create()))
            .build();
    try {
      long index =
          TransparencyLogGrpc.newBlockingStub(ch)
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .submit(
                  SubmitRequest.newBuilder()
                      .setEntry(ByteString.copyFrom(entry, StandardCharsets.UTF_8))
                      .build())
              .getIndex();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (nodes.values().stream().anyMatch(s -> s.sequencer().head().size() <= index)) {
        assertTrue(System.nanoTime() < deadline, "a node never applied index " + index);
        Thread.sleep(50);
      }
      return index + 1;
    } finally {
      ch.shutdownNow();
    }
  }

  @AfterEach
  void stop() {
    nodes.values().forEach(CustodyServer::close);
  }

  @Test
  void everyNodeSignsWithBothKeysThenWithTheNewOneAlone() throws Exception {
    Path a = dir.resolve("a.key");
    Path b = dir.resolve("b.key");
    Ed25519NoteKeys.Verifier aKey = LogKeyFile.create(a, ORIGIN).verifier();
    CheckpointVerifier onlyA = new CheckpointVerifier(ORIGIN, aKey);
    Ed25519NoteKeys.Verifier bKey = LogKeyFile.create(b, ORIGIN).verifier();
    CheckpointVerifier onlyB = new CheckpointVerifier(ORIGIN, bKey);
    peers =
        Peers.parse(
            "n1=127.0.0.1:"
                + ThreeNodesTest.freePort()
                + ",n2=127.0.0.1:"
                + ThreeNodesTest.freePort()
                + ",n3=127.0.0.1:"
                + ThreeNodesTest.freePort());
    LogKeys keyA = LogKeys.DEFAULT.withKeyFile(a);
    for (String id : List.of("n1", "n2", "n3")) start(id, keyA);
    long size = submit("before");

    rollingRestart(keyA.withNext(new LogKeys.File(b)));
    size = submit("during");
    for (CustodyServer s : nodes.values()) {
      String note = s.sequencer().head().note();
      assertEquals(size, onlyA.verify(note).size(), "the old key still opens every node's head");
      assertEquals(size, onlyB.verify(note).size(), "and so does the new one");
    }

    rollingRestart(LogKeys.DEFAULT.withKeyFile(b).withRetired(List.of(aKey.vkey())));
    size = submit("after");
    for (CustodyServer s : nodes.values()) {
      String note = s.sequencer().head().note();
      assertEquals(size, onlyB.verify(note).size());
      assertThrows(CheckpointException.class, () -> onlyA.verify(note), "A signs no more");
      assertEquals(bKey.vkey(), s.identity().verifierKey());
    }
  }
}
