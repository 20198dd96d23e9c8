package dev.custody.server.cluster;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.CompactRange;
import dev.custody.merkle.Hashes;
import dev.custody.note.NoteSigner;
import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.BatchListener;
import dev.custody.server.sequencer.Integrator;
import dev.custody.server.sequencer.TreeEdge;
import dev.custody.server.storage.AppendBatch;
import dev.custody.server.storage.LogStorage;
import dev.custody.serving.Daemons;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.PriorityQueue;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;

/**
 * A node's store as the replicated state: every node applies the committed batches, in Raft order,
 * to its own RocksDB through {@link Integrator}, so that every node holds the same bytes for the
 * same committed prefix (indices, tiles and the signed checkpoints included: Ed25519 is
 * deterministic, and nothing is signed outside applying a committed batch, so no two roots for one
 * size can ever be signed). Dedup happens here, against the replicated indices, so it is exact even
 * when two nodes forward the same entry. Each batch's writes and the Raft position they bring the
 * store to are one atomic RocksDB write, not synced: the Raft log, synced on a majority before the
 * batch counts as committed, is the durable record; after a crash the node resumes from what its
 * store holds (a prefix, its position within it) and applies the rest again from its Raft log,
 * skipping what is at or below the position.
 *
 * <p>Snapshots are RocksDB checkpoints ({@link SnapshotStore}); a node that installs one copies it
 * into its live store, which readers keep using throughout.
 *
 * <p>Threads: Ratis applies, snapshots and reinitialises on one thread; {@link #head} and {@link
 * #whenSize} may be called from any.
 *
 * <p>One concept in one file, though long: Ratis' state machine contract (start, apply, snapshot,
 * install, leader changes) is one interface whose calls share the applied position and the refusal
 * to lead; splitting its callbacks apart would spread one lock's invariants over files.
 */
final class LogStateMachine extends BaseStateMachine {
  private static final Logger LOG = Logger.getLogger(LogStateMachine.class.getName());

  /**
   * Reports why this node must not lead, if it must not (a checkpoint published beyond its state).
   */
  @FunctionalInterface
  public interface LeadershipCheck {
    /**
     * @return why this node must not lead, for an operator to decide (empty: it may)
     * @throws IOException when what must be checked cannot be read now: the node waits, and asks
     *     again, rather than lead unchecked
     */
    Optional<String> objection(SignedCheckpoint head) throws IOException;
  }

  /** How often a leader that could not check what was published asks again. */
  static final Duration FENCE_RETRY = Duration.ofSeconds(1);

  /**
   * Runs the leadership check off Ratis' apply thread (a slow bucket must not stop the new leader
   * from applying), and retries it while it cannot read.
   */
  private final ScheduledExecutorService checker =
      Executors.newSingleThreadScheduledExecutor(Daemons.named("custody-leadership-check"));

  private final AtomicLong leaderTerm = new AtomicLong(-1);

  private final LogStorage storage;
  private final Integrator integrator;
  private final BatchListener listener;
  private final SnapshotStore snapshots = new SnapshotStore();
  private final Supplier<LeadershipCheck> leadershipCheck;
  private final Duration snapshotInterval;
  private volatile SignedCheckpoint head;
  private volatile String refusalToLead; // why this node refuses to lead; null when it does not
  private volatile String halted; // why this node stopped applying; null while it applies
  private final FailStop failStop;
  private final LongSupplier clock;
  private final LongAdder refusedProposals = new LongAdder();
  private final LongAdder leaderChanges = new LongAdder();
  private TreeEdge edge; // the apply thread's
  // Written by the apply thread only; read by others (the formats members read).
  private volatile AppliedPosition position = AppliedPosition.NONE;
  private final PriorityQueue<Waiter> waiters =
      new PriorityQueue<>((a, b) -> Long.compare(a.size, b.size));

  private record Waiter(long size, CompletableFuture<SignedCheckpoint> done) {}

  /**
   * @param snapshotInterval snapshots at most this often, whatever the entry count says: each one
   *     flushes the store's memtables, and a follower receiving one should not see it replaced (and
   *     the log after it purged) before the transfer ends
   * @param failStop what to do on a committed batch that cannot be applied
   * @param clock the leader's clock (ms since the epoch), against which proposals' timestamps are
   *     bounded
   */
  LogStateMachine(
      LogStorage storage,
      String origin,
      List<NoteSigner> signers,
      BatchListener listener,
      Supplier<LeadershipCheck> leadershipCheck,
      Duration snapshotInterval,
      FailStop failStop,
      LongSupplier clock) {
    this.failStop = failStop;
    this.clock = clock;
    this.snapshotInterval = snapshotInterval;
    this.storage = storage;
    this.integrator = new Integrator(origin, signers);
    this.listener = listener;
    this.leadershipCheck = leadershipCheck;
    load();
  }

  /** Reads the store's state: its tree edge, latest checkpoint and applied position. */
  private void load() {
    Integrator.Resumed r = integrator.resume(storage);
    edge = r.edge();
    head = r.head();
    position = AppliedPosition.decode(storage.applied());
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId group, RaftStorage raftStorage)
      throws IOException {
    getLifeCycle()
        .startAndTransition(
            () -> {
              super.initialize(server, group, raftStorage);
              snapshots.init(raftStorage);
              catchUpFromSnapshot();
            });
  }

  /**
   * When the newest snapshot is ahead of the store (Ratis just installed it, or a crash cut the
   * copy short), copies it into the store; then takes the store's position as the applied one.
   */
  private void catchUpFromSnapshot() throws IOException {
    Optional<SnapshotStore.Snapshot> s = snapshots.newest();
    if (s.isPresent() && s.get().position().getIndex() > position.index()) {
      long t0 = System.nanoTime();
      long keys;
      try (LogStorage snapshot = LogStorage.openReadOnly(s.get().dir())) {
        Optional<String> bad = snapshotProblem(snapshot);
        if (bad.isPresent()) {
          halted =
              "refusing the snapshot at Raft index "
                  + s.get().position().getIndex()
                  + ": "
                  + bad.get();
          LOG.severe(halted);
          failStop.stop(halted);
          throw new IOException(halted);
        }
        keys = storage.absorb(snapshot);
      }
      load();
      LOG.info(
          "caught up from the snapshot at Raft index "
              + s.get().position().getIndex()
              + ": "
              + keys
              + " keys copied in "
              + (System.nanoTime() - t0) / 1_000_000
              + " ms; tree size now "
              + head.size());
      notifyWaiters();
    }
    if (position.index() >= 0)
      setLastAppliedTermIndex(TermIndex.valueOf(position.term(), position.index()));
  }

  /**
   * Why a snapshot must not replace this node's state, or empty when it may: its checkpoint must be
   * signed by this log's keys ({@link Integrator#signedByThisLog}), its root recomputed from the
   * snapshot's own leaves must be that checkpoint's, it must not be smaller than this node's tree,
   * and at this node's size its root must be this node's (it extends what this node holds, never
   * forks it). Reads every leaf: snapshots are installed rarely, and trusting their stored tree
   * would let whoever wrote it choose the roots this node signs next.
   */
  Optional<String> snapshotProblem(LogStorage snapshot) {
    Optional<String> note = snapshot.latestCheckpoint();
    if (note.isEmpty()) return Optional.of("it holds no checkpoint");
    if (!integrator.signedByThisLog(note.get()))
      return Optional.of("its checkpoint is not signed by this log's keys");
    SignedCheckpoint cp = Integrator.parseStored(note.get());
    SignedCheckpoint mine = head;
    if (cp.size() < mine.size()) {
      return Optional.of(
          "its tree (" + cp.size() + " entries) is smaller than this node's (" + mine.size() + ")");
    }
    CompactRange range = CompactRange.empty();
    for (long i = 0; i < cp.size(); i++) {
      if (range.size() == mine.size()
          && !MessageDigest.isEqual(range.root(), mine.checkpoint().rootHash())) {
        return Optional.of(
            "at this node's size " + mine.size() + " its root differs from this node's: a fork");
      }
      Optional<byte[]> leaf = snapshot.leaf(i);
      if (leaf.isEmpty()) return Optional.of("it lacks leaf " + i + " of " + cp.size());
      range = range.append(Hashes.leafHash(leaf.get()), (level, index, hash) -> {});
    }
    if (range.size() == mine.size()
        && !MessageDigest.isEqual(range.root(), mine.checkpoint().rootHash())) {
      return Optional.of(
          "at this node's size " + mine.size() + " its root differs from this node's: a fork");
    }
    if (!MessageDigest.isEqual(range.root(), cp.checkpoint().rootHash()))
      return Optional.of("the root of its leaves is not the root its checkpoint states");
    return Optional.empty();
  }

  @Override
  public synchronized void pause() {
    if (getLifeCycleState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  /** After Ratis installed a snapshot from the leader: copy it in, then go on applying after it. */
  @Override
  public synchronized void reinitialize() throws IOException {
    snapshots.refresh();
    catchUpFromSnapshot();
    if (getLifeCycleState() == LifeCycle.State.PAUSED) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return snapshots;
  }

  /**
   * Checks a proposal on the leader before it enters the Raft log: only well-formed batches, only
   * when it leads.
   */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext trx = super.startTransaction(request);
    String why = refusalToLead;
    if (why != null) {
      trx.setException(new IOException("this node refuses to lead: " + why));
      return trx;
    }
    ByteBuffer content = request.getMessage().getContent().asReadOnlyByteBuffer();
    if (BatchCodec.isControl(content)) {
      try {
        BatchCodec.decodeReads(content);
      } catch (IllegalArgumentException e) {
        refusedProposals.increment();
        trx.setException(new IOException("malformed control record: " + e.getMessage()));
      }
      return trx;
    }
    try {
      BatchCodec.Proposal p = BatchCodec.decodeProposal(content);
      Optional<String> bad =
          ProposalCheck.problem(p).or(() -> ProposalCheck.clockProblem(p, clock.getAsLong()));
      if (bad.isPresent()) {
        refusedProposals.increment();
        trx.setException(new IOException("refused a batch: " + bad.get()));
      } else {
        // Kept with the transaction for this node's own apply, should it still lead then: the
        // bytes are those Raft commits, decoded and checked once.
        trx.setStateMachineContext(p);
      }
    } catch (IllegalArgumentException e) {
      refusedProposals.increment();
      trx.setException(new IOException("malformed batch: " + e.getMessage()));
    }
    return trx;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto e = trx.getLogEntry();
    TermIndex at = TermIndex.valueOf(e);
    if (at.getIndex() <= position.index()) {
      // Replayed after a restart: the store already holds it (its position was written with it).
      return CompletableFuture.completedFuture(Message.EMPTY);
    }
    ByteBuffer data = e.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer();
    BatchCodec.Proposal p;
    try {
      if (BatchCodec.isControl(data)) {
        applyReads(at, decodeCommittedReads(at, data));
        return CompletableFuture.completedFuture(Message.EMPTY);
      }
      p =
          trx.getStateMachineContext() instanceof BatchCodec.Proposal checked
              ? checked
              : decodeCommitted(at, data);
    } catch (IllegalStateException cannot) {
      return CompletableFuture.failedFuture(cannot);
    }
    BatchCodec.Outcome out = apply(at, p);
    return CompletableFuture.completedFuture(
        Message.valueOf(UnsafeByteOperations.unsafeWrap(BatchCodec.encode(out))));
  }

  /**
   * The batch committed at {@code at}, checked as the leader checked it. startTransaction keeps bad
   * batches out; one committed anyway (a leader that checked less, another codec) stops this node
   * ({@link FailStop}): every node stops on it alike, or the ones that can read it go on, but none
   * skips what another applied.
   *
   * @throws IllegalStateException after {@link FailStop#stop} returned (in tests)
   */
  BatchCodec.Proposal decodeCommitted(TermIndex at, ByteBuffer data) {
    String why;
    try {
      BatchCodec.Proposal p = BatchCodec.decodeProposal(data);
      Optional<String> bad = ProposalCheck.problem(p);
      if (bad.isEmpty()) return p;
      why = bad.get();
    } catch (IllegalArgumentException e) {
      why = e.getMessage();
    }
    return stop(at, why);
  }

  /** The control record committed at {@code at}; stops the node when it cannot read it. */
  BatchCodec.Reads decodeCommittedReads(TermIndex at, ByteBuffer data) {
    try {
      return BatchCodec.decodeReads(data);
    } catch (IllegalArgumentException e) {
      return stop(at, e.getMessage());
    }
  }

  private <T> T stop(TermIndex at, String why) {
    halted =
        "the committed entry at Raft index "
            + at.getIndex()
            + " cannot be applied ("
            + why
            + "); this node stops rather than skip it, so that it cannot fork from nodes that apply it";
    LOG.severe(halted);
    failStop.stop(halted);
    throw new IllegalStateException(halted);
  }

  /** Records a member's batch formats in the replicated state (nothing else changes). */
  private void applyReads(TermIndex at, BatchCodec.Reads r) {
    AppliedPosition next =
        position.withReads(at.getTerm(), at.getIndex(), r.member(), r.maxVersion());
    var b = new AppendBatch();
    b.setApplied(next.encode());
    storage.apply(b);
    position = next;
    updateLastAppliedTermIndex(at);
  }

  /** The newest batch format each member announced, as the replicated state records it. */
  SortedMap<String, Integer> reads() {
    return position.reads();
  }

  /** Why this node stopped applying, if it did. */
  Optional<String> halted() {
    return Optional.ofNullable(halted);
  }

  /** Proposals this node refused as leader (malformed, or a field out of bounds). */
  long refusedProposals() {
    return refusedProposals.sum();
  }

  /**
   * Dedups, integrates and commits one batch with its position; a storage failure stops the node
   * (Ratis closes it).
   */
  private BatchCodec.Outcome apply(TermIndex at, BatchCodec.Proposal p) {
    long ts = Math.max(position.timestampMs(), p.timestampMs());
    List<Admitted> entries = p.entries();
    long[] indices = new long[entries.size()];
    boolean[] dup = new boolean[entries.size()];
    List<Admitted> fresh = new ArrayList<>();
    Map<ByteBuffer, Integer> inBatch = new HashMap<>();
    for (int i = 0; i < entries.size(); i++) {
      Admitted a = entries.get(i);
      ByteBuffer key = ByteBuffer.wrap(a.dedupKey());
      Integer earlier = inBatch.get(key);
      OptionalLong stored =
          earlier != null
              ? OptionalLong.empty()
              : storage.indexOfDedupKey(a.dedupKey(), a.keyedByLeafHash());
      if (earlier != null) {
        indices[i] = indices[earlier];
        dup[i] = true;
      } else if (stored.isPresent()) {
        indices[i] = stored.getAsLong();
        dup[i] = true;
      } else {
        indices[i] = edge.size() + fresh.size();
        inBatch.put(key, i);
        fresh.add(a);
      }
    }
    AppliedPosition next = position.at(at.getTerm(), at.getIndex(), ts);
    long t0 = System.nanoTime();
    if (fresh.isEmpty()) {
      var b = new AppendBatch();
      b.setApplied(next.encode());
      storage.apply(b);
    } else {
      Integrator.Result r = integrator.integrate(edge, fresh, ts);
      r.batch().setApplied(next.encode());
      storage.apply(
          r.batch()); // not synced: the Raft log, synced on a majority, is the durable record
      edge = r.edge();
      head = r.head();
    }
    long nanos = System.nanoTime() - t0;
    position = next;
    updateLastAppliedTermIndex(at);
    if (!fresh.isEmpty()) listener.committed(fresh.size(), nanos);
    notifyWaiters();
    return new BatchCodec.Outcome(indices, dup, ts, head.note());
  }

  /**
   * Ratis also applies entries of its own (configuration, a new term's first entry): track them,
   * never backwards.
   */
  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    TermIndex now = getLastAppliedTermIndex();
    if (now == null || index > now.getIndex()) updateLastAppliedTermIndex(term, index);
  }

  private long lastSnapshotAt; // System.nanoTime(), the apply thread's

  /**
   * After a failed snapshot, the next try waits this long, doubling with each failure up to {@link
   * #SNAPSHOT_BACKOFF_MAX}: a disk that refuses checkpoints must not be asked again on every batch.
   */
  static final Duration SNAPSHOT_BACKOFF_MIN = Duration.ofSeconds(1);

  static final Duration SNAPSHOT_BACKOFF_MAX = Duration.ofMinutes(5);
  private final LongAdder failedSnapshots = new LongAdder();
  private int failuresInARow; // the apply thread's
  private long nextSnapshotTry; // System.nanoTime(); the apply thread's
  private long lastFailureLogged = System.nanoTime() - 120_000_000_000L;

  /** Snapshots that failed since start. */
  long failedSnapshots() {
    return failedSnapshots.sum();
  }

  @Override
  public long takeSnapshot() throws IOException {
    AppliedPosition at = position;
    if (at.index() < 0) return -1;
    var latest = snapshots.getLatestSnapshot();
    long now = System.nanoTime();
    if (latest != null && now - lastSnapshotAt < snapshotInterval.toNanos()) {
      return latest.getIndex(); // the latest one stands for now
    }
    if (failuresInARow > 0 && now - nextSnapshotTry < 0) {
      return latest == null ? -1 : latest.getIndex(); // backing off after a failure
    }
    try {
      return snapshot(at);
    } catch (IOException | RuntimeException e) {
      failedSnapshots.increment();
      failuresInARow++;
      long wait =
          Math.min(
              SNAPSHOT_BACKOFF_MAX.toNanos(),
              SNAPSHOT_BACKOFF_MIN.toNanos() << Math.min(20, failuresInARow - 1));
      nextSnapshotTry = now + wait;
      if (now - lastFailureLogged >= 60_000_000_000L) {
        lastFailureLogged = now;
        LOG.log(
            Level.SEVERE,
            "a snapshot of the store failed ("
                + failuresInARow
                + " in a row; next try in "
                + wait / 1_000_000
                + " ms; this line at most once a minute)",
            e);
      }
      // An IOException tells Ratis the snapshot failed and leaves its apply thread running; a
      // runtime exception there would stop the thread and hang the node's shutdown.
      throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
    }
  }

  private long snapshot(AppliedPosition at) throws IOException {
    lastSnapshotAt = System.nanoTime();
    TermIndex ti = TermIndex.valueOf(at.term(), at.index());
    if (!Files.exists(snapshots.folderFor(ti))) {
      Path tmp = snapshots.temporary();
      long t0 = System.nanoTime();
      storage.checkpointTo(tmp);
      snapshots.publish(tmp, ti);
      LOG.info(
          "snapshot at Raft index "
              + at.index()
              + " (tree size "
              + head.size()
              + ") in "
              + (System.nanoTime() - t0) / 1_000_000
              + " ms");
    }
    failuresInARow = 0;
    return at.index();
  }

  /**
   * A read barrier's query: by the time Ratis calls it, this node has applied all the leader had
   * committed.
   */
  @Override
  public CompletableFuture<Message> query(Message request) {
    return CompletableFuture.completedFuture(Message.EMPTY);
  }

  long leaderChanges() {
    return leaderChanges.sum();
  }

  /**
   * This node has become leader and applied everything committed before its term. Before it takes a
   * proposal, its state must contain every checkpoint already published (exported or cosigned): an
   * operator who restored an old copy of the nodes must not fork the log.
   */
  @Override
  public void notifyLeaderReady() {
    // Until the check has passed, this leader takes no proposal: nothing it signs can then fork
    // what was published.
    refusalToLead = NOT_YET_CHECKED;
    long term = leaderTerm.incrementAndGet();
    checker.execute(() -> checkLeadership(term));
  }

  private static final String NOT_YET_CHECKED =
      "checking the published checkpoint before leading (the export sink is read first)";

  private volatile boolean fenceUnreadable;

  private void checkLeadership(long term) {
    if (leaderTerm.get() != term) return; // leadership changed since: a newer check runs
    try {
      Optional<String> objection = leadershipCheck.get().objection(head);
      fenceUnreadable = false;
      refusalToLead = objection.orElse(null);
      objection.ifPresent(why -> LOG.severe("refusing to lead, and taking no submissions: " + why));
    } catch (IOException | RuntimeException e) {
      fenceUnreadable = true;
      String why =
          "cannot read the published checkpoint ("
              + e.getMessage()
              + "); not leading until it can be read, or the node is started with "
              + "--export-fence off";
      if (!why.equals(refusalToLead)) LOG.severe(why);
      refusalToLead = why;
      checker.schedule(() -> checkLeadership(term), FENCE_RETRY.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** True while this node, as leader, waits to read what was published (the bucket is down). */
  boolean fenceUnreadable() {
    return fenceUnreadable && refusalToLead != null;
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId newLeader) {
    leaderChanges.increment();
    if (!member.getPeerId().equals(newLeader)) {
      leaderTerm.incrementAndGet(); // no longer leader: a pending check stops
      refusalToLead = null;
      fenceUnreadable = false;
    }
  }

  @Override
  public void close() throws IOException {
    checker.shutdownNow();
    super.close();
  }

  /** Why this node refuses to lead, if it does. */
  Optional<String> refusingToLead() {
    return Optional.ofNullable(refusalToLead);
  }

  /** The latest checkpoint this node's store holds. */
  SignedCheckpoint head() {
    return head;
  }

  /**
   * Completes when this node's store holds a tree of at least {@code size}, with its checkpoint
   * then.
   */
  CompletableFuture<SignedCheckpoint> whenSize(long size) {
    SignedCheckpoint now = head;
    if (now.size() >= size) return CompletableFuture.completedFuture(now);
    CompletableFuture<SignedCheckpoint> f = new CompletableFuture<>();
    synchronized (waiters) {
      waiters.add(new Waiter(size, f));
    }
    notifyWaiters(); // the apply may have passed size between the check and the add
    return f;
  }

  private void notifyWaiters() {
    SignedCheckpoint now = head;
    List<Waiter> ready = new ArrayList<>();
    synchronized (waiters) {
      while (!waiters.isEmpty() && waiters.peek().size <= now.size()) ready.add(waiters.poll());
    }
    for (Waiter w : ready) w.done.complete(now);
  }

  /** The Raft index this node's store has applied (-1 before the first batch). */
  long appliedIndex() {
    return position.index();
  }
}
