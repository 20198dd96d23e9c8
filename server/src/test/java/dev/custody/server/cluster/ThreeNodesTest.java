package dev.custody.server.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.guard.StandingQueue;
import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.Sequenced;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three Ratis nodes in one JVM over loopback, each with its own RocksDB: one order, exact dedup
 * across nodes, the same bytes everywhere, and writes going on after the leader leaves.
 */
class ThreeNodesTest {
  /**
   * Ratis reports every vote at INFO; the test's output keeps its warnings. Held: JUL keeps loggers
   * weakly.
   */
  private static final Logger RATIS = Logger.getLogger("org.apache.ratis");

  static {
    RATIS.setLevel(Level.WARNING);
  }

  @TempDir Path dir;
  private final List<LogStorage> stores = new ArrayList<>();
  private final Map<String, ClusterNode> nodes = new HashMap<>();
  private Peers peers;
  private Ed25519NoteKeys.Signer key;

  static int freePort() throws Exception {
    return LocalCluster.freePort();
  }

  private ClusterNode start(String id, long snapshotEvery) throws Exception {
    return start(id, snapshotEvery, peers, false);
  }

  private ClusterNode start(String id, long snapshotEvery, Peers with, boolean join)
      throws Exception {
    LogStorage storage = LogStorage.open(dir.resolve(id).resolve("db"));
    stores.add(storage);
    ClusterNode n =
        ClusterNode.start(
            new ClusterNode.Settings(
                id,
                with,
                dir.resolve(id).resolve("raft"),
                snapshotEvery,
                Duration.ZERO,
                Duration.ofMillis(300),
                Duration.ofMillis(600),
                join),
            storage,
            "t/log",
            List.of(key),
            10_000,
            256,
            StandingQueue.Rule.DEFAULT,
            (n1, t) -> {});
    nodes.put(id, n);
    return n;
  }

  private void startAll(long snapshotEvery) throws Exception {
    key = Ed25519NoteKeys.generate("t/log", new SecureRandom());
    peers =
        Peers.parse(
            "n1=127.0.0.1:"
                + freePort()
                + ",n2=127.0.0.1:"
                + freePort()
                + ",n3=127.0.0.1:"
                + freePort());
    for (String id : List.of("n1", "n2", "n3")) start(id, snapshotEvery);
  }

  @AfterEach
  void stop() {
    nodes.values().forEach(ClusterNode::close);
    stores.forEach(LogStorage::close);
  }

  private ClusterNode awaitLeader() throws InterruptedException {
    return LocalCluster.awaitLeader(nodes.values());
  }

  private static Sequenced submit(ClusterNode n, Admitted a) throws Exception {
    return LocalCluster.submit(n, a);
  }

  private static Admitted entry(int i) {
    return Admitted.opaque(("entry " + i).getBytes());
  }

  @Test
  void everyNodeAdmitsOneOrderTheSameBytesAndExactDedup() throws Exception {
    startAll(ClusterNode.Settings.SNAPSHOT_EVERY);
    awaitLeader();
    List<ClusterNode> all = List.of(nodes.get("n1"), nodes.get("n2"), nodes.get("n3"));
    List<CompletableFuture<Sequenced>> fs = new ArrayList<>();
    // 300 distinct entries, each submitted to two different nodes at once: 600 submissions.
    for (int i = 0; i < 300; i++) {
      fs.add(all.get(i % 3).sequencer().add(entry(i)));
      fs.add(all.get((i + 1) % 3).sequencer().add(entry(i)));
    }
    Map<Integer, Long> indexOf = new HashMap<>();
    Set<Long> indices = new HashSet<>();
    int duplicates = 0;
    for (int i = 0; i < fs.size(); i++) {
      Sequenced s;
      try {
        s = fs.get(i).get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        s =
            submit(
                all.get(i % 3), entry(i / 2)); // refused during start-up: retried as a client would
      }
      if (s.duplicate()) duplicates++;
      Long before = indexOf.putIfAbsent(i / 2, s.index());
      if (before != null) assertEquals(before, s.index(), "entry " + i / 2 + " got two indices");
      indices.add(s.index());
      assertTrue(s.checkpoint().size() > s.index());
    }
    assertEquals(300, indices.size(), "each entry exactly once");
    assertTrue(duplicates >= 300, "every second submission is a duplicate: " + duplicates);
    // Every node converges on the same tree, byte for byte.
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < end && all.stream().anyMatch(n -> n.sequencer().head().size() < 300))
      Thread.sleep(20);
    SignedCheckpoint h = all.get(0).sequencer().head();
    assertEquals(300, h.size());
    for (ClusterNode n : all) assertEquals(h.note(), n.sequencer().head().note());
    for (long i = 0; i < 300; i++) {
      byte[] leaf = stores.get(0).leaf(i).orElseThrow();
      for (LogStorage st : stores) assertArrayEquals(leaf, st.leaf(i).orElseThrow());
    }
    // The leader proposed to its own Raft server in process, the followers through a client.
    ClusterNode leader = awaitLeader();
    for (ClusterNode n : all) {
      Map<String, Long> p = n.proposals();
      if (n == leader) {
        assertTrue(p.get("own_server") > 0, n.nodeId() + ": " + p);
        // Through a client only while another node led, if one ever did.
        if (n.leaderChanges() == 1) assertEquals(0, p.get("leader_client"), n.nodeId() + ": " + p);
      } else {
        assertTrue(p.get("leader_client") > 0, n.nodeId() + ": " + p);
      }
    }
  }

  @Test
  void aGroupIsOneProposalInOrderPastMaxBatchWithDuplicatesAnsweredFromTheLog() throws Exception {
    startAll(ClusterNode.Settings.SNAPSHOT_EVERY);
    ClusterNode leader = awaitLeader();
    for (int i = 0; i < 3; i++) submit(leader, entry(i)); // settled: entries 0..2 logged
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < end
        && nodes.values().stream().anyMatch(n -> n.sequencer().head().size() < 3)) Thread.sleep(20);
    ClusterNode follower =
        nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
    for (ClusterNode n : List.of(follower, leader)) {
      long before = n.sequencer().head().size();
      Map<String, Long> proposedBefore = n.proposals();
      // 300 entries (more than maxBatch 256), the first two already in the log, one twice.
      List<Admitted> group = new ArrayList<>();
      group.add(entry(1));
      group.add(entry(2));
      for (int i = 0; i < 298; i++) group.add(entry(n == leader ? 2000 + i : 1000 + i));
      group.add(group.get(5));
      List<Sequenced> got = new ArrayList<>();
      for (CompletableFuture<Sequenced> f : n.sequencer().addInOneCommit(group).orElseThrow())
        got.add(f.get(30, TimeUnit.SECONDS));
      assertEquals(1, got.get(0).index());
      assertEquals(2, got.get(1).index());
      assertTrue(got.get(0).duplicate() && got.get(1).duplicate());
      for (int k = 2; k < 300; k++) {
        assertEquals(before + k - 2, got.get(k).index(), n.nodeId() + ": entry " + k);
        assertEquals(before + 298, got.get(k).checkpoint().size(), "one proposal, one checkpoint");
      }
      assertEquals(got.get(5).index(), got.get(300).index());
      assertTrue(got.get(300).duplicate());
      Map<String, Long> proposed = n.proposals();
      long made =
          proposed.values().stream().mapToLong(Long::longValue).sum()
              - proposedBefore.values().stream().mapToLong(Long::longValue).sum();
      assertEquals(1, made, n.nodeId() + " proposed the group as one batch: " + proposed);
    }
    // Alone, the follower has no leader: a group is refused whole, UNAVAILABLE, as clients retry.
    for (String id : List.of("n1", "n2", "n3"))
      if (!id.equals(follower.nodeId())) nodes.remove(id).close();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < until && follower.leaderId().isPresent()) Thread.sleep(20);
    assertTrue(follower.leaderId().isEmpty(), "no leader once the other two stopped");
    for (CompletableFuture<Sequenced> f :
        follower.sequencer().addInOneCommit(List.of(entry(5000), entry(5001))).orElseThrow()) {
      ExecutionException e =
          Assertions.assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
      assertTrue(
          e.getCause() instanceof dev.custody.server.pushback.UnavailableException
              && e.getCause().getMessage().contains("no leader"),
          String.valueOf(e.getCause()));
    }
  }

  @Test
  void writesGoOnWhenTheLeaderLeavesAndALateNodeCatchesUpBySnapshot() throws Exception {
    startAll(5);
    ClusterNode leader = awaitLeader();
    for (int i = 0; i < 50; i++) submit(nodes.get("n" + (1 + i % 3)), entry(i));
    String gone = leader.nodeId();
    leader.close();
    nodes.remove(gone);
    ClusterNode next = awaitLeader();
    assertTrue(!next.nodeId().equals(gone));
    // Enough batches for several snapshots (and a purged Raft log) while the old leader is away.
    for (int i = 50; i < 120; i++) submit(next, entry(i));
    for (int i = 0; i < 120; i++)
      assertEquals(i, submit(next, entry(i)).index(), "acknowledged entries keep their index");
    // The old leader comes back with its store and Raft log: it catches up (by snapshot: its log
    // was purged).
    stores.remove(List.of("n1", "n2", "n3").indexOf(gone)).close();
    ClusterNode back = start(gone, 5);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < end && back.sequencer().head().size() < 120) Thread.sleep(50);
    assertEquals(next.sequencer().head().note(), back.sequencer().head().note());
    assertEquals(Optional.empty(), back.refusingToLead());
  }

  @Test
  void aNodeJoinsAMemberLeavesAndAWipedNodeCannotRejoinUnderItsOldId() throws Exception {
    startAll(ClusterNode.Settings.SNAPSHOT_EVERY);
    ClusterNode leader = awaitLeader();
    for (int i = 0; i < 40; i++) submit(leader, entry(i));
    // n4 starts outside the group (--join) and is added by the membership command's API.
    Peers withN4 = Peers.parse(peers.format() + ",n4=127.0.0.1:" + freePort());
    ClusterNode n4 = start("n4", ClusterNode.Settings.SNAPSHOT_EVERY, withN4, true);
    try (Membership m = new Membership("t/log", peers, Optional.empty())) {
      m.add("n4", withN4.address("n4"));
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (System.nanoTime() < end && n4.sequencer().head().size() < 40) Thread.sleep(50);
      assertEquals(
          leader.sequencer().head().note(),
          n4.sequencer().head().note(),
          "the new member caught up");
      assertEquals(4, m.members().size());
      // A follower stops and loses its storage.
      String lost =
          List.of("n1", "n2", "n3").stream()
              .filter(x -> !x.equals(leader.nodeId()))
              .findFirst()
              .orElseThrow();
      nodes.remove(lost).close();
      stores.remove(List.of("n1", "n2", "n3").indexOf(lost)).close();
      deleteTree(dir.resolve(lost));
      IllegalStateException refused =
          Assertions.assertThrows(
              IllegalStateException.class, () -> start(lost, ClusterNode.Settings.SNAPSHOT_EVERY));
      assertTrue(
          refused.getMessage().contains("must not rejoin under its old id"), refused.getMessage());
      stores.remove(stores.size() - 1).close(); // the store the refused start opened
      // Writes go on with three of four; then the lost member is removed, and the cluster is three
      // again.
      for (int i = 40; i < 60; i++) submit(leader, entry(i));
      m.remove(lost);
      assertEquals(3, m.members().size());
      for (int i = 60; i < 80; i++) assertEquals(i, submit(n4, entry(i)).index());
    }
  }

  @Test
  void aLeaderWhoseStoreIsBehindThePublishedCheckpointRefusesToLead() throws Exception {
    startAll(ClusterNode.Settings.SNAPSHOT_EVERY);
    ClusterNode leader = awaitLeader();
    for (int i = 0; i < 10; i++) submit(leader, entry(i));
    // Every other node now finds the published checkpoint ahead of its store (as an old copy
    // would).
    for (ClusterNode n : nodes.values()) {
      if (n != leader)
        n.setLeadershipCheck(head -> Optional.of("the exported checkpoint is ahead (test)"));
    }
    String gone = leader.nodeId();
    nodes.remove(gone).close();
    ClusterNode next = awaitLeader();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < end && next.refusingToLead().isEmpty()) Thread.sleep(20);
    assertEquals(Optional.of("the exported checkpoint is ahead (test)"), next.refusingToLead());
    ExecutionException e =
        Assertions.assertThrows(
            ExecutionException.class,
            () -> next.sequencer().add(entry(100)).get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("refuses to lead"), e.getCause().getMessage());
    assertEquals(10, next.sequencer().head().size(), "nothing was appended");
  }

  @Test
  void aNewLeaderThatCannotReadThePublishedCheckpointWaitsThenLeads() throws Exception {
    startAll(ClusterNode.Settings.SNAPSHOT_EVERY);
    ClusterNode leader = awaitLeader();
    for (int i = 0; i < 10; i++) submit(leader, entry(i));
    AtomicBoolean bucketDown = new AtomicBoolean(true);
    for (ClusterNode n : nodes.values()) {
      n.setLeadershipCheck(
          head -> {
            if (bucketDown.get()) throw new IOException("the bucket does not answer");
            return Optional.empty();
          });
    }
    String gone = leader.nodeId();
    nodes.remove(gone).close();
    ClusterNode next = awaitLeader();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < end && !next.fenceUnreadable()) Thread.sleep(20);
    assertTrue(next.fenceUnreadable(), "fail closed while the bucket is down");
    ExecutionException e =
        Assertions.assertThrows(
            ExecutionException.class,
            () -> next.sequencer().add(entry(100)).get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("refuses to lead"), e.getCause().getMessage());
    assertEquals(10, next.sequencer().head().size(), "nothing was signed while unchecked");
    bucketDown.set(false); // the bucket answers again: the leader checks again and leads
    assertEquals(10, submit(next, entry(100)).index());
    assertTrue(!next.fenceUnreadable() && next.refusingToLead().isEmpty());
  }

  @Test
  void aFollowersReadBarrierWaitsForEverythingTheLeaderAcknowledged() throws Exception {
    startAll(ClusterNode.Settings.SNAPSHOT_EVERY);
    ClusterNode leader = awaitLeader();
    ClusterNode follower =
        nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
    for (int round = 0; round < 5; round++) {
      long acknowledged = 0;
      for (int i = 0; i < 20; i++)
        acknowledged = Math.max(acknowledged, submit(leader, entry(round * 100 + i)).index() + 1);
      // What a link's predecessor check waits for on a replica: afterwards this node holds all the
      // leader acknowledged.
      follower.sequencer().caughtUp().get(10, TimeUnit.SECONDS);
      assertTrue(
          follower.sequencer().head().size() >= acknowledged,
          follower.sequencer().head().size() + " < " + acknowledged);
    }
  }

  /**
   * The Raft log's segments cached in the heap stay small: with Ratis' defaults (200 MB) a node
   * with a 256 MB heap ran out of memory under two minutes of sustained writes.
   */
  @Test
  void theRaftLogCachedInTheHeapIsBounded() throws Exception {
    RaftProperties p =
        RaftConfig.properties(
            new ClusterNode.Settings(
                "n1", Peers.parse("n1=127.0.0.1:" + freePort()), dir.resolve("raft")));
    long cached =
        Math.max(
            RaftServerConfigKeys.Log.segmentCacheSizeMax(p).getSize(),
            RaftServerConfigKeys.Log.segmentCacheNumMax(p)
                * RaftServerConfigKeys.Log.segmentSizeMax(p).getSize());
    assertTrue(cached <= 32L << 20, "up to " + cached + " bytes of Raft log in the heap");
    assertTrue(
        RaftServerConfigKeys.Log.segmentSizeMax(p).getSize()
            >= 2L * ReplicatedSequencer.MAX_PROPOSAL_BYTES,
        "a segment holds the largest proposal");
  }

  @Test
  void unsafeRaftFlushSettingsAreRefused() {
    var p =
        RaftConfig.properties(new ClusterNode.Settings("n1", Peers.parse("n1=127.0.0.1:1"), dir));
    RaftConfig.checkSafety(p);
    RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, true);
    assertTrue(
        Assertions.assertThrows(IllegalStateException.class, () -> RaftConfig.checkSafety(p))
            .getMessage()
            .contains("unsafe-flush"));
    RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, false);
    RaftServerConfigKeys.Log.setAsyncFlushEnabled(p, true);
    assertTrue(
        Assertions.assertThrows(IllegalStateException.class, () -> RaftConfig.checkSafety(p))
            .getMessage()
            .contains("async-flush"));
  }

  private static void deleteTree(Path p) throws IOException {
    try (var all = Files.walk(p)) {
      for (Path f : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator)
        Files.delete(f);
    }
  }
}
