package dev.custody.server.cluster;

import dev.custody.note.NoteSigner;
import dev.custody.server.guard.StandingQueue;
import dev.custody.server.sequencer.BatchListener;
import dev.custody.server.sequencer.Sequencer;
import dev.custody.server.storage.LogStorage;
import dev.custody.serving.Daemons;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.UUID;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Logger;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.TimeDuration;

/**
 * One member of a Custody cluster: a Ratis server whose state machine is this node's store ({@link
 * LogStateMachine}), the {@link ReplicatedSequencer} on top, which proposes batches to this server
 * in process while it leads and through a Ratis client to the leader otherwise. The Raft group's id
 * is derived from the log's origin, so a node started for another log cannot join by mistake.
 */
public final class ClusterNode implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ClusterNode.class.getName());

  /**
   * How a node takes part; every default in one place.
   *
   * @param raftDir the Raft log and snapshots (beside the store, in the data directory)
   * @param snapshotEvery Raft entries (batches) between snapshots; the Raft log before a snapshot
   *     is purged
   * @param snapshotInterval and at least this long between two snapshots
   * @param electionMin the shortest a follower waits without hearing from a leader before it stands
   * @param electionMax the longest (each follower draws at random between the two)
   * @param join this node is new to a running cluster: it starts outside the group and waits to be
   *     added ({@code custody-server cluster add}); {@code peers} need only name it and one member
   * @param raftBind the address the Raft port listens on: by default the host of this node's own
   *     entry in {@code peers}, never the wildcard unless it is named ({@code 0.0.0.0})
   * @param tls mutual TLS on the Raft port; empty is plaintext, which lets anyone who reaches the
   *     port write to the log, vote and change the members (for tests, and for operators who say so
   *     with {@code --raft-plaintext})
   */
  public record Settings(
      String nodeId,
      Peers peers,
      Path raftDir,
      long snapshotEvery,
      Duration snapshotInterval,
      Duration electionMin,
      Duration electionMax,
      boolean join,
      String raftBind,
      Optional<RaftTls> tls) {
    public static final long SNAPSHOT_EVERY = 10_000;
    public static final Duration SNAPSHOT_INTERVAL = Duration.ofSeconds(10);
    public static final Duration ELECTION_MIN = Duration.ofMillis(400);
    public static final Duration ELECTION_MAX = Duration.ofMillis(800);

    public Settings {
      if (!peers.members().containsKey(nodeId)) {
        throw new IllegalArgumentException(
            "--node-id " + nodeId + " is not one of --peers (" + peers.format() + ")");
      }
      if (snapshotEvery < 1)
        throw new IllegalArgumentException("snapshots must be at least 1 entry apart");
      if (electionMax.compareTo(electionMin) <= 0)
        throw new IllegalArgumentException("election timeout max must exceed min");
      if (raftBind == null || raftBind.isBlank())
        raftBind = peers.members().get(nodeId).getHostString();
      if (tls.isPresent()
          && !(tls.get().identity().isNode() && tls.get().identity().name().equals(nodeId))) {
        throw new IllegalArgumentException(
            "--raft-tls-cert names "
                + tls.get().identity()
                + ", not node "
                + nodeId
                + ": each node needs its own certificate");
      }
    }

    /** Plaintext on the host of this node's own entry: for tests in one JVM. */
    public Settings(
        String nodeId,
        Peers peers,
        Path raftDir,
        long snapshotEvery,
        Duration snapshotInterval,
        Duration electionMin,
        Duration electionMax,
        boolean join) {
      this(
          nodeId,
          peers,
          raftDir,
          snapshotEvery,
          snapshotInterval,
          electionMin,
          electionMax,
          join,
          null,
          Optional.empty());
    }

    /** The same settings over mutual TLS. */
    public Settings withTls(RaftTls t) {
      return new Settings(
          nodeId,
          peers,
          raftDir,
          snapshotEvery,
          snapshotInterval,
          electionMin,
          electionMax,
          join,
          raftBind,
          Optional.of(t));
    }

    public Settings(String nodeId, Peers peers, Path raftDir) {
      this(
          nodeId,
          peers,
          raftDir,
          SNAPSHOT_EVERY,
          SNAPSHOT_INTERVAL,
          ELECTION_MIN,
          ELECTION_MAX,
          false);
    }
  }

  private final RaftServer server;
  private final RaftGroupId groupId;
  private final LogStateMachine machine;
  private final ReplicatedSequencer sequencer;
  private final String nodeId;
  private final AtomicReference<LogStateMachine.LeadershipCheck> check;

  private final Thread announcer;
  private volatile boolean closing;

  private ClusterNode(
      RaftServer server,
      RaftGroupId groupId,
      LogStateMachine machine,
      ReplicatedSequencer sequencer,
      String nodeId,
      AtomicReference<LogStateMachine.LeadershipCheck> check) {
    this.announcer = Daemons.named("custody-announce-formats").newThread(this::announceReads);
    this.server = server;
    this.groupId = groupId;
    this.machine = machine;
    this.sequencer = sequencer;
    this.nodeId = nodeId;
    this.check = check;
  }

  /** The Raft group of the log with this origin: the same on every node. */
  public static RaftGroupId groupOf(String origin) {
    return RaftGroupId.valueOf(
        UUID.nameUUIDFromBytes(("custody-log:" + origin).getBytes(StandardCharsets.UTF_8)));
  }

  static RaftGroup group(RaftGroupId id, Peers peers) {
    List<RaftPeer> list = new ArrayList<>();
    for (String p : peers.members().keySet()) {
      list.add(RaftPeer.newBuilder().setId(p).setAddress(peers.address(p)).build());
    }
    return RaftGroup.valueOf(id, list);
  }

  /**
   * Starts this node's Raft server over {@code storage} and joins (or forms) the group.
   *
   * @throws IllegalStateException when this node's store has applied Raft entries but its Raft
   *     storage is gone: with its log and vote forgotten it could help elect a leader that lacks
   *     acknowledged entries, so it must come back as a new member instead
   */
  public static ClusterNode start(
      Settings s,
      LogStorage storage,
      String origin,
      List<NoteSigner> signers,
      int queueCapacity,
      int maxBatch,
      StandingQueue.Rule pushback,
      BatchListener listener)
      throws IOException {
    RaftGroupId groupId = groupOf(origin);
    AppliedPosition applied = AppliedPosition.decode(storage.applied());
    Path groupDir = s.raftDir().resolve(groupId.getUuid().toString());
    if (applied.index() >= 0 && !Files.isDirectory(groupDir)) {
      throw new IllegalStateException(
          "this node's store has applied Raft index "
              + applied.index()
              + " but its Raft "
              + "storage ("
              + groupDir
              + ") is missing: a node that forgot its votes and log must not rejoin under its old "
              + "id. Remove it (custody-server cluster remove "
              + s.nodeId()
              + "), then start it with an empty data directory and "
              + "--join, and add it again (see docs/cluster.md, \"Cluster membership\")");
    }
    if (!Files.isDirectory(groupDir)
        && !s.join()
        && Membership.listsWithEntries(origin, s.peers(), s.nodeId(), s.tls())) {
      throw new IllegalStateException(
          "this node's Raft storage ("
              + groupDir
              + ") is empty, but the running cluster "
              + "lists "
              + s.nodeId()
              + " as a member with entries already committed: a node that lost its storage must "
              + "not rejoin under its old id. Remove it (custody-server cluster remove), then start it with --join and add "
              + "it again (custody-server cluster add); see docs/cluster.md, \"Cluster membership\"");
    }
    RaftProperties p = RaftConfig.properties(s);
    RaftConfig.checkSafety(p);
    if (ForkJoinPool.getCommonPoolParallelism() < 2) {
      LOG.warning(
          "the JVM's common fork-join pool has one thread: Ratis will start a thread per Raft "
              + "append on this node; start the JVM with -D"
              + RaftConfig.COMMON_POOL_PARALLELISM
              + "=2 (custody-server does so itself)");
    }
    AtomicReference<LogStateMachine.LeadershipCheck> check =
        new AtomicReference<>(head -> Optional.empty());
    LogStateMachine machine =
        new LogStateMachine(
            storage,
            origin,
            signers,
            listener,
            check::get,
            s.snapshotInterval(),
            FailStop.HALT,
            System::currentTimeMillis);
    RaftGroup group = group(groupId, s.peers());
    // A joining node starts in no configuration: it neither votes nor stands until the leader adds
    // it.
    RaftGroup startAs =
        s.join() && !Files.isDirectory(groupDir) ? RaftGroup.valueOf(groupId) : group;
    AtomicReference<RaftServer> running = new AtomicReference<>();
    Parameters params =
        s.tls()
            .map(t -> t.parameters(addressBook(s.peers(), groupId, running::get)))
            .orElseGet(Parameters::new);
    RaftServer server =
        RaftServer.newBuilder()
            .setServerId(RaftPeerId.valueOf(s.nodeId()))
            .setGroup(startAs)
            .setProperties(p)
            .setParameters(params)
            .setStateMachine(machine)
            // Formats the Raft storage the first time, and recovers it (log, term, vote) ever
            // after.
            .setOption(RaftStorage.StartupOption.RECOVER)
            .build();
    running.set(server);
    server.start();
    RaftPeerId self = RaftPeerId.valueOf(s.nodeId());
    Function<RaftPeerId, RaftClient> clients =
        leader ->
            RaftClient.newBuilder()
                .setProperties(p)
                .setParameters(params)
                .setRaftGroup(group)
                .setLeaderId(leader)
                // A few quick retries (a leader change answered "not leader"); past them the
                // submission fails
                // UNAVAILABLE and its client retries with backoff, which is idempotent.
                .setRetryPolicy(
                    RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                        3, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
                .build();
    // Proposals made while this node leads go to its own server in process. One client id for
    // them all, a fresh call id each: Ratis' retry cache keys on the pair.
    ClientId ownClient = ClientId.randomId();
    AtomicLong callIds = new AtomicLong();
    ReplicatedSequencer.OwnServer own =
        m ->
            server.submitClientRequestAsync(
                RaftClientRequest.newBuilder()
                    .setClientId(ownClient)
                    .setServerId(self)
                    .setGroupId(groupId)
                    .setCallId(callIds.incrementAndGet())
                    .setMessage(m)
                    .setType(RaftClientRequest.writeRequestType())
                    .build());
    ReplicatedSequencer seq =
        new ReplicatedSequencer(
            machine,
            storage,
            clients,
            own,
            self,
            () -> knownLeader(server, groupId, self),
            queueCapacity,
            maxBatch,
            pushback,
            () ->
                BatchCodec.proposable(
                    members(server, groupId, s.peers()), machine.reads(), BatchCodec.NEWEST_READ));
    ClusterNode node = new ClusterNode(server, groupId, machine, seq, s.nodeId(), check);
    node.announcer.start();
    return node;
  }

  /**
   * Records in the replicated state which batch formats this node reads ({@link BatchCodec.Reads}),
   * once per start until it is there: a newer format is proposed only when every member has.
   * Retried with backoff while there is no leader.
   */
  private void announceReads() {
    byte[] record = BatchCodec.encode(new BatchCodec.Reads(nodeId, BatchCodec.NEWEST_READ));
    long pauseMs = 200;
    while (!closing && machine.reads().getOrDefault(nodeId, 0) != BatchCodec.NEWEST_READ) {
      try {
        if (leaderId().isEmpty()) {
          Thread.sleep(pauseMs);
          continue;
        }
        sequencer.announce(record).get(5, TimeUnit.SECONDS);
        // Committed; this node applies it a heartbeat or so later. Wait for that before asking
        // again, or every round trip until then would commit one more copy.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!closing
            && machine.reads().getOrDefault(nodeId, 0) != BatchCodec.NEWEST_READ
            && System.nanoTime() < until) Thread.sleep(50);
      } catch (InterruptedException e) {
        return;
      } catch (Exception notYet) {
        try {
          Thread.sleep(pauseMs);
        } catch (InterruptedException e) {
          return;
        }
        pauseMs = Math.min(5_000, pauseMs * 2);
      }
    }
  }

  /** The members of the current Raft configuration; {@code --peers} before it is known. */
  private static List<String> members(RaftServer server, RaftGroupId groupId, Peers peers) {
    try {
      List<String> out = new ArrayList<>();
      for (RaftPeer p : server.getDivision(groupId).getRaftConf().getCurrentPeers())
        out.add(p.getId().toString());
      if (!out.isEmpty()) return out;
    } catch (IOException notYet) {
      // the group is not loaded yet
    }
    return new ArrayList<>(peers.members().keySet());
  }

  /** The batch format each member announced it reads, as the replicated state records it. */
  public SortedMap<String, Integer> formatsRead() {
    return machine.reads();
  }

  /**
   * Which node is at an address: the running Raft configuration first (it knows members added since
   * start), then {@code --peers}.
   */
  static RaftPeerTrust.Addresses addressBook(
      Peers peers, RaftGroupId groupId, Supplier<RaftServer> server) {
    return new RaftPeerTrust.Addresses() {
      @Override
      public Optional<String> nodeAt(String host, int port) {
        String at = Peers.format(host, port);
        for (RaftPeer p : configured(server.get(), groupId)) {
          if (at.equals(p.getAddress())) return Optional.of(p.getId().toString());
        }
        for (String id : peers.members().keySet()) {
          if (at.equals(peers.address(id))) return Optional.of(id);
        }
        return Optional.empty();
      }

      @Override
      public boolean isMember(String id) {
        if (peers.members().containsKey(id)) return true;
        for (RaftPeer p : configured(server.get(), groupId))
          if (p.getId().toString().equals(id)) return true;
        return false;
      }
    };
  }

  /** The peers of the running Raft configuration (old and new during a change); none before. */
  private static Collection<RaftPeer> configured(RaftServer srv, RaftGroupId groupId) {
    if (srv == null) return List.of();
    try {
      return srv.getDivision(groupId).getRaftConf().getAllPeers();
    } catch (IOException notYet) {
      return List.of(); // the group is not loaded yet: --peers alone
    }
  }

  public Sequencer sequencer() {
    return sequencer;
  }

  private DivisionInfo info() {
    try {
      return server.getDivision(groupId).getInfo();
    } catch (IOException e) {
      throw new IllegalStateException("this node's Raft group is gone: " + e.getMessage(), e);
    }
  }

  public String nodeId() {
    return nodeId;
  }

  /** True on the leader once it has applied everything committed before its term. */
  public boolean isLeader() {
    DivisionInfo i = info();
    return i.isLeader() && i.isLeaderReady();
  }

  /** "leader", "follower", "candidate" or "listener", as Raft has it now. */
  public String role() {
    return info().getCurrentRole().name().toLowerCase(Locale.ROOT);
  }

  /** The leader this node knows of now; empty during an election. */
  public Optional<String> leaderId() {
    return knownLeader(server, groupId, RaftPeerId.valueOf(nodeId)).map(RaftPeerId::toString);
  }

  private static Optional<RaftPeerId> knownLeader(
      RaftServer server, RaftGroupId groupId, RaftPeerId self) {
    DivisionInfo i;
    try {
      i = server.getDivision(groupId).getInfo();
    } catch (IOException e) {
      return Optional.empty();
    }
    if (i.isLeader()) return Optional.of(self);
    return Optional.ofNullable(i.getLeaderId());
  }

  public long term() {
    return info().getCurrentTerm();
  }

  /** The Raft index this node's store has applied. */
  public long appliedIndex() {
    return machine.appliedIndex();
  }

  /**
   * On the leader, how many Raft entries the slowest follower lacks of the leader's log; 0 on a
   * follower (which does not know).
   */
  public long followerLag() {
    DivisionInfo i = info();
    if (!i.isLeader()) return 0;
    long last = lastIndex();
    long lag = 0;
    for (long m : i.getFollowerMatchIndices()) lag = Math.max(lag, last - m);
    return lag;
  }

  private long lastIndex() {
    try {
      var e = server.getDivision(groupId).getRaftLog().getLastEntryTermIndex();
      return e == null ? 0 : e.getIndex();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Leader changes this node has seen since it started (an election each, or learning of one). */
  public long leaderChanges() {
    return machine.leaderChanges();
  }

  /** Snapshots of the store that failed since start (each retried after a growing pause). */
  public long failedSnapshots() {
    return machine.failedSnapshots();
  }

  /** Proposals this node refused as leader before they committed (a field out of bounds). */
  /**
   * Batches this node proposed since it started, by path: {@code own_server} (to its own Raft
   * server in process, while it leads) and {@code leader_client} (through a Ratis client to the
   * leader).
   */
  public Map<String, Long> proposals() {
    return sequencer.proposals();
  }

  public long refusedProposals() {
    return machine.refusedProposals();
  }

  /** True while this node, as leader, waits to read the published checkpoint (fail closed). */
  public boolean fenceUnreadable() {
    return machine.fenceUnreadable();
  }

  /** Why this node refuses to lead, if it does ({@link #setLeadershipCheck}). */
  public Optional<String> refusingToLead() {
    return machine.refusingToLead();
  }

  /** What must hold before this node leads: checked each time it becomes leader. */
  public void setLeadershipCheck(LogStateMachine.LeadershipCheck c) {
    check.set(c);
  }

  /**
   * Stops proposing (answering those queued), then leaves the group (the others elect a leader if
   * this was it).
   */
  @Override
  public void close() {
    closing = true;
    announcer.interrupt();
    sequencer.close(); // and its Ratis client
    try {
      server.close();
    } catch (IOException ignored) {
      // Closing on the way out.
    }
  }
}
