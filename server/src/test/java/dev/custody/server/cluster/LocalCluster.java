package dev.custody.server.cluster;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.guard.StandingQueue;
import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.Sequenced;
import dev.custody.server.storage.LogStorage;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Nodes of one log in this JVM, over loopback sockets, each with its own RocksDB: what the
 * cluster's tests start, attack and stop. Elections are quick (300–600 ms); snapshots as the
 * settings' default.
 */
final class LocalCluster implements AutoCloseable {
  static final String ORIGIN = "t/log";

  final Path dir;
  final Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate(ORIGIN, new SecureRandom());
  final Peers peers;
  final Map<String, ClusterNode> nodes = new LinkedHashMap<>();
  final Map<String, LogStorage> stores = new LinkedHashMap<>();

  /** Three members, n1 to n3, on free loopback ports; none started. */
  LocalCluster(Path dir) throws Exception {
    this.dir = dir;
    this.peers =
        Peers.parse(
            "n1=127.0.0.1:"
                + freePort()
                + ",n2=127.0.0.1:"
                + freePort()
                + ",n3=127.0.0.1:"
                + freePort());
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Starts {@code id} with its store under {@code dir/id}. */
  ClusterNode start(String id, Peers with, boolean join, Optional<RaftTls> tls) throws Exception {
    LogStorage storage = LogStorage.open(dir.resolve(id).resolve("db"));
    stores.put(id, storage);
    ClusterNode.Settings s =
        new ClusterNode.Settings(
            id,
            with,
            dir.resolve(id).resolve("raft"),
            ClusterNode.Settings.SNAPSHOT_EVERY,
            Duration.ZERO,
            Duration.ofMillis(300),
            Duration.ofMillis(600),
            join);
    ClusterNode n =
        ClusterNode.start(
            tls.map(s::withTls).orElse(s),
            storage,
            ORIGIN,
            List.of(key),
            10_000,
            256,
            StandingQueue.Rule.DEFAULT,
            (a, b) -> {});
    nodes.put(id, n);
    return n;
  }

  /** Starts n1 to n3, each with {@code tls.apply(id)}, and returns the leader once there is one. */
  ClusterNode startAll(Function<String, Optional<RaftTls>> tls) throws Exception {
    for (String id : List.of("n1", "n2", "n3")) start(id, peers, false, tls.apply(id));
    return awaitLeader(nodes.values());
  }

  static ClusterNode awaitLeader(Collection<ClusterNode> nodes) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < end) {
      for (ClusterNode n : nodes) if (n.isLeader()) return n;
      Thread.sleep(20);
    }
    throw new AssertionError("no leader within 20 s");
  }

  /** Submits until accepted (an election answers UNAVAILABLE, as clients retry). */
  static Sequenced submit(ClusterNode n, Admitted a) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        return n.sequencer().add(a).get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (System.nanoTime() > end) throw e;
        Thread.sleep(50);
      }
    }
  }

  /** Waits until every node's tree holds {@code size} entries (or 10 s pass). */
  void awaitSize(long size) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < end
        && nodes.values().stream().anyMatch(n -> n.sequencer().head().size() < size))
      Thread.sleep(20);
  }

  @Override
  public void close() {
    nodes.values().forEach(ClusterNode::close);
    stores.values().forEach(LogStorage::close);
  }
}
