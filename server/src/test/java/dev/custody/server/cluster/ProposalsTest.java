package dev.custody.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.Sequenced;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch enters the replicated log only if every field is what its body says: a proposer that
 * skips admission (a node with a bug, or one that lost its key) cannot halt the cluster with an
 * empty body, push the log's clock into the future, choose a leaf hash or an index key. Each is
 * refused by the leader before it commits and the log stays writable; a committed batch that still
 * cannot be applied stops the node instead of being skipped.
 */
class ProposalsTest {
  private static final Logger RATIS = Logger.getLogger("org.apache.ratis");

  static {
    RATIS.setLevel(Level.SEVERE);
  }

  private static final LinkKeys.Signer LINK_KEY = LinkKeys.generate(LinkKeys.Scheme.ED25519);

  @TempDir Path dir;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing) c.close();
  }

  private static SignedLink link(int i) {
    Digest diff = Digest.sha256Of(ByteBuffer.allocate(8).putInt(3).putInt(i).array());
    return SignedLink.sign(
        new Statement(
            "registry.example/test/app",
            Digest.sha256Of(ByteBuffer.allocate(8).putInt(1).putInt(i).array()),
            0,
            Digest.sha256Of(ByteBuffer.allocate(8).putInt(2).putInt(i).array()),
            diff,
            diff,
            Statement.NO_PREDECESSOR,
            1_764_288_000_000L),
        LINK_KEY);
  }

  private static Admitted goodLink(int i) {
    SignedLink l = link(i);
    return new Admitted(l.encoded(), true, l.linkId(), LinkIndex.keysOf(l));
  }

  /** Every bad field, each in an otherwise good batch, with what the refusal must say. */
  private static Map<String, BatchCodec.Proposal> badBatches(long now) {
    Map<String, BatchCodec.Proposal> m = new LinkedHashMap<>();
    SignedLink l = link(99);
    m.put(
        "an empty body",
        new BatchCodec.Proposal(
            now, List.of(new Admitted(new byte[0], true, new byte[32], List.of()))));
    m.put(
        "an empty body",
        new BatchCodec.Proposal(
            now,
            List.of(new Admitted(new byte[0], false, Hashes.leafHash(new byte[0]), List.of()))));
    byte[] big = new byte[70_000];
    m.put(
        "a body of 70000 bytes",
        new BatchCodec.Proposal(
            now, List.of(new Admitted(big, false, Hashes.leafHash(big), List.of()))));
    byte[] body = "an opaque entry".getBytes();
    m.put(
        "a leaf hash that is not the hash of its body",
        new BatchCodec.Proposal(now, List.of(new Admitted(body, false, new byte[32], List.of()))));
    m.put(
        "lookup keys on an opaque entry",
        new BatchCodec.Proposal(
            now,
            List.of(new Admitted(body, false, Hashes.leafHash(body), List.of(new byte[] {1})))));
    m.put(
        "not a signed link",
        new BatchCodec.Proposal(
            now, List.of(new Admitted(body, true, Hashes.leafHash(body), List.of()))));
    m.put(
        "an entry id that is not the link's id",
        new BatchCodec.Proposal(
            now, List.of(new Admitted(l.encoded(), true, new byte[32], LinkIndex.keysOf(l)))));
    List<byte[]> more = new ArrayList<>(LinkIndex.keysOf(l));
    more.add(new byte[] {'x'});
    m.put(
        "lookup keys where the link has",
        new BatchCodec.Proposal(now, List.of(new Admitted(l.encoded(), true, l.linkId(), more))));
    List<byte[]> other = new ArrayList<>(LinkIndex.keysOf(l));
    other.set(0, new byte[] {'m', 0});
    m.put(
        "lookup key 0 is not the link's",
        new BatchCodec.Proposal(now, List.of(new Admitted(l.encoded(), true, l.linkId(), other))));
    m.put("a negative timestamp", new BatchCodec.Proposal(-1, List.of(goodLink(98))));
    return m;
  }

  /** What the refusal must say: the key, up to a '|' that tells two cases apart. */
  private static String expected(String key) {
    int bar = key.indexOf('|');
    return bar < 0 ? key : key.substring(0, bar);
  }

  @Test
  void everyFieldIsCheckedAgainstTheBody() {
    long now = System.currentTimeMillis();
    assertEquals(
        Optional.empty(),
        ProposalCheck.problem(new BatchCodec.Proposal(now, List.of(goodLink(1)))));
    assertEquals(
        Optional.empty(),
        ProposalCheck.problem(
            new BatchCodec.Proposal(now, List.of(Admitted.opaque(new byte[] {7})))));
    for (var e : badBatches(now).entrySet()) {
      Optional<String> p = ProposalCheck.problem(e.getValue());
      assertTrue(p.isPresent() && p.get().contains(expected(e.getKey())), e.getKey() + ": " + p);
    }
    BatchCodec.Proposal future = new BatchCodec.Proposal(Long.MAX_VALUE, List.of(goodLink(2)));
    assertEquals(Optional.empty(), ProposalCheck.problem(future), "deterministic part");
    assertTrue(
        ProposalCheck.clockProblem(future, now)
            .orElseThrow()
            .contains("ahead of the leader's clock"));
    assertTrue(
        ProposalCheck.clockProblem(new BatchCodec.Proposal(now + 4_000, List.of()), now).isEmpty(),
        "a follower's clock a little ahead is fine");
  }

  @Test
  void theLeaderRefusesEachBadBatchBeforeItCommitsAndTheLogStaysWritable() throws Exception {
    LocalCluster cluster = new LocalCluster(dir);
    closing.add(cluster);
    ClusterNode leader = cluster.startAll(id -> Optional.empty());
    Peers peers = cluster.peers;
    Map<String, ClusterNode> nodes = cluster.nodes;
    submit(leader, goodLink(0));
    long size = leader.sequencer().head().size();
    RaftProperties p = new RaftProperties();
    try (RaftClient raw =
        RaftClient.newBuilder()
            .setProperties(p)
            .setRaftGroup(ClusterNode.group(ClusterNode.groupOf("t/log"), peers))
            // Straight to the leader: without retries, a first try at a follower would fail as
            // "not leader" rather than be refused for what the batch holds.
            .setLeaderId(RaftPeerId.valueOf(leader.nodeId()))
            .setRetryPolicy(RetryPolicies.noRetry())
            .build()) {
      Map<String, BatchCodec.Proposal> bad = badBatches(System.currentTimeMillis());
      bad.put(
          "ahead of the leader's clock|max",
          new BatchCodec.Proposal(Long.MAX_VALUE, List.of(goodLink(3))));
      bad.put(
          "ahead of the leader's clock",
          new BatchCodec.Proposal(System.currentTimeMillis() + 3_600_000, List.of(goodLink(4))));
      int refused = 0;
      for (var e : bad.entrySet()) {
        String why = refusal(raw, leader.nodeId(), BatchCodec.encode(e.getValue()));
        assertTrue(why.contains(expected(e.getKey())), e.getKey() + ": " + why);
        refused++;
      }
      byte[] unknownVersion = BatchCodec.encode(new BatchCodec.Proposal(1, List.of(goodLink(5))));
      unknownVersion[0] = 9;
      assertTrue(refusal(raw, leader.nodeId(), unknownVersion).contains("batch format 9"));
      refused++;
      assertEquals(refused, leader.refusedProposals());
    }
    assertEquals(size, leader.sequencer().head().size(), "nothing refused was logged");
    assertEquals(size, submit(leader, goodLink(6)).index(), "the log stays writable");
    cluster.awaitSize(size + 1);
    for (ClusterNode n : nodes.values()) {
      assertEquals(leader.sequencer().head().note(), n.sequencer().head().note(), n.nodeId());
      assertTrue(
          n.sequencer().head().size() > 0
              && System.currentTimeMillis() + 60_000
                  > timestampOfLast(cluster.stores.get(n.nodeId()), size));
    }
  }

  private static long timestampOfLast(LogStorage s, long index) throws Exception {
    return Leaf.parse(s.leaf(index).orElseThrow()).logTimestampMs();
  }

  private static String refusal(RaftClient raw, String leader, byte[] batch) throws Exception {
    try {
      RaftClientReply r = raw.io().send(Message.valueOf(ByteString.copyFrom(batch)));
      assertTrue(!r.isSuccess(), "a bad batch was committed");
      return String.valueOf(r.getException());
    } catch (IOException e) {
      return String.valueOf(e);
    }
  }

  private static Sequenced submit(ClusterNode n, Admitted a) throws Exception {
    return LocalCluster.submit(n, a);
  }

  @Test
  void aCommittedBatchThatCannotBeAppliedStopsTheNodeAndIsNeverSkipped() throws Exception {
    LogStorage storage = LogStorage.open(dir.resolve("db"));
    closing.add(storage);
    List<String> stopped = new ArrayList<>();
    LogStateMachine m =
        new LogStateMachine(
            storage,
            "t/log",
            List.of(Ed25519NoteKeys.generate("t/log", new SecureRandom())),
            (a, b) -> {},
            () -> head -> Optional.empty(),
            Duration.ZERO,
            stopped::add,
            System::currentTimeMillis);
    byte[] empty =
        BatchCodec.encode(
            new BatchCodec.Proposal(
                1, List.of(new Admitted(new byte[0], true, new byte[32], List.of()))));
    assertThrows(
        IllegalStateException.class,
        () -> m.decodeCommitted(TermIndex.valueOf(1, 7), ByteBuffer.wrap(empty)));
    assertEquals(1, stopped.size());
    assertTrue(stopped.get(0).contains("Raft index 7") && stopped.get(0).contains("an empty body"));
    byte[] v9 = BatchCodec.encode(new BatchCodec.Proposal(1, List.of(goodLink(1))));
    v9[0] = 9;
    assertThrows(
        IllegalStateException.class,
        () -> m.decodeCommitted(TermIndex.valueOf(1, 8), ByteBuffer.wrap(v9)));
    assertTrue(stopped.get(1).contains("batch format 9"), stopped.get(1));
    assertTrue(m.halted().isPresent());
    assertEquals(0, m.head().size(), "nothing was applied");
    assertEquals(-1, m.appliedIndex());
  }
}
