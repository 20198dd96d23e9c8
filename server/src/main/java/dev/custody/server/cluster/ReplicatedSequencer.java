package dev.custody.server.cluster;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.server.guard.StandingQueue;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.pushback.ShuttingDownException;
import dev.custody.server.pushback.UnavailableException;
import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.Pending;
import dev.custody.server.sequencer.Sequenced;
import dev.custody.server.sequencer.Sequencer;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import java.util.logging.Logger;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * The sequencer of a cluster node. Any node admits (signature checks scale out with the nodes);
 * dedup against the node's own store and its in-flight entries runs on the callers' threads, as on
 * a single node. One thread batches what is queued and proposes each batch to the Raft group: on
 * the leader straight to its own Raft server, in process; on a follower through Ratis' client,
 * which sends it to the leader (one hop). The state machine assigns indices when the batch is
 * committed and applied ({@link LogStateMachine}); the caller is told only after that, and after
 * this node's own store holds the batch, so that the inclusion proof it is answered with can be
 * read here.
 *
 * <p>Without a known leader (an election) a submission fails at once with {@link
 * UnavailableException}; clients retry with backoff, on this node or another, and a retry of an
 * entry that did get in is answered as a duplicate with its index.
 */
public final class ReplicatedSequencer implements Sequencer {
  private static final Logger LOG = Logger.getLogger(ReplicatedSequencer.class.getName());

  /** A Raft entry holds at most this many bytes of entries (a link is at most 64 KiB). */
  static final int MAX_PROPOSAL_BYTES = 4 << 20;

  /**
   * Proposals on their way at once: the Raft log pipelines them, and batches keep forming
   * meanwhile.
   */
  static final int PROPOSALS_IN_FLIGHT = 4;

  /**
   * A proposal with fewer entries than this waits up to {@link #LINGER_NANOS} for more, but only
   * while another proposal is on its way (so the Raft log is busy anyway): under load a proposal
   * carries hundreds of entries instead of the few that arrived since the last one, and an idle log
   * still proposes a lone entry at once.
   */
  static final int FULL_PROPOSAL = 128;

  static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  /** Longest a proposal may go unanswered before its submitters hear UNAVAILABLE. */
  static final long PROPOSAL_SECONDS = 5;

  /** Longest this node waits, after the cluster applied a batch, for its own store to hold it. */
  static final long LOCAL_APPLY_SECONDS = 10;

  /**
   * Held by every offer to the queue and while a batch takes the rest of a group, so that a group's
   * entries lie next to each other in the queue and go whole into one proposal.
   */
  private final Object queueing = new Object();

  /**
   * A batch on its way, through one client ({@code null}: to this node's own Raft server); it gives
   * its place back exactly once.
   */
  private record Proposal(List<Pending> batch, RaftClient via, AtomicBoolean over) {
    boolean end() {
      return over.compareAndSet(false, true);
    }
  }

  private final Set<Proposal> outstanding = ConcurrentHashMap.newKeySet();
  private final AtomicLong toOwnServer = new AtomicLong();
  private final AtomicLong toLeader = new AtomicLong();

  private final LogStateMachine machine;
  private final LogStorage storage;
  private final Function<RaftPeerId, RaftClient> clients;
  private final OwnServer own;
  private volatile RaftClient client;
  private RaftPeerId aimedAt; // the leader the current client was made for (under this's lock)
  private final RaftPeerId self;
  private final Supplier<Optional<RaftPeerId>> leader;
  private final int maxBatch;
  private final BlockingQueue<Pending> queue;
  private final Map<ByteBuffer, Pending> inFlight = new ConcurrentHashMap<>();
  private final StandingQueue standing;
  private final Semaphore proposals = new Semaphore(PROPOSALS_IN_FLIGHT);
  private final Thread thread;
  private volatile boolean closing;
  private final IntSupplier version;

  /** This node's own Raft server, taking a write request in process. */
  @FunctionalInterface
  interface OwnServer {
    CompletableFuture<RaftClientReply> submit(Message m) throws IOException;
  }

  /**
   * @param clients makes a Ratis client that sends to the given leader first
   * @param own this node's Raft server, for proposals while it leads
   * @param leader the leader this node's Raft server knows of now (empty during an election)
   * @param version the batch format to propose in now ({@link BatchCodec#proposable})
   */
  ReplicatedSequencer(
      LogStateMachine machine,
      LogStorage storage,
      Function<RaftPeerId, RaftClient> clients,
      OwnServer own,
      RaftPeerId self,
      Supplier<Optional<RaftPeerId>> leader,
      int queueCapacity,
      int maxBatch,
      StandingQueue.Rule pushback,
      IntSupplier version) {
    this.version = version;
    this.machine = machine;
    this.storage = storage;
    this.clients = clients;
    this.own = own;
    this.aimedAt = leader.get().orElse(self);
    this.client = clients.apply(aimedAt);
    this.self = self;
    this.leader = leader;
    this.maxBatch = maxBatch;
    this.queue = new ArrayBlockingQueue<>(queueCapacity);
    this.standing = new StandingQueue(pushback);
    this.thread = new Thread(this::run, "custody-replicated-sequencer");
    thread.start();
  }

  @Override
  public CompletableFuture<Sequenced> add(Admitted entry) {
    long now = System.nanoTime();
    RuntimeException refused = refusalNow(now);
    if (refused != null) return CompletableFuture.failedFuture(refused);
    Pending mine = Pending.alone(entry, now);
    CompletableFuture<Sequenced> f = mine.done();
    Pending earlier = inFlight.putIfAbsent(mine.key(), mine);
    if (earlier != null) return earlier.asDuplicate();
    try {
      OptionalLong stored = storage.indexOfDedupKey(entry.dedupKey(), entry.keyedByLeafHash());
      if (stored.isPresent()) {
        inFlight.remove(mine.key(), mine);
        return published(stored.getAsLong());
      } else if (leader.get().isEmpty()) {
        inFlight.remove(mine.key(), mine);
        f.completeExceptionally(noLeader());
      } else {
        boolean queued;
        synchronized (queueing) {
          queued = queue.offer(mine);
        }
        if (!queued) {
          inFlight.remove(mine.key(), mine);
          f.completeExceptionally(busy());
        }
      }
    } catch (RuntimeException e) {
      inFlight.remove(mine.key(), mine);
      f.completeExceptionally(e);
    }
    return f;
  }

  /**
   * A group in one proposal: one Raft entry, which the cluster commits and applies whole or not at
   * all, so a chain's upper link is never logged without the links below it. Empty (the caller adds
   * the entries one after another) when an entry of the group is on its way for another caller.
   */
  @Override
  public Optional<List<CompletableFuture<Sequenced>>> addInOneCommit(List<Admitted> entries) {
    RuntimeException refused = refusalNow(System.nanoTime());
    if (refused == null && leader.get().isEmpty()) refused = noLeader();
    List<CompletableFuture<Sequenced>> out = new ArrayList<>(entries.size());
    if (refused != null) {
      for (int i = 0; i < entries.size(); i++) out.add(CompletableFuture.failedFuture(refused));
      return Optional.of(out);
    }
    long now = System.nanoTime();
    Optional<List<Pending>> claimed =
        Pending.claimGroup(entries, now, inFlight, storage, this::published, out);
    if (claimed.isEmpty()) return Optional.empty();
    List<Pending> mine = claimed.get();
    synchronized (queueing) {
      if (queue.remainingCapacity() >= mine.size()) {
        queue.addAll(mine);
        return Optional.of(out);
      }
    }
    OverloadedException full = busy();
    for (Pending q : mine) finish(q, null, full);
    return Optional.of(out);
  }

  /** Why a submission is refused before it is queued, or null: closing, or a standing queue. */
  private RuntimeException refusalNow(long now) {
    if (closing) return new ShuttingDownException("this node is shutting down");
    Pending oldest = queue.peek();
    if (standing.admits(oldest == null ? StandingQueue.EMPTY : now - oldest.queuedAt()))
      return null;
    return new OverloadedException(
        "the log is behind: this node's queue has stayed above "
            + standing.targetMillis()
            + " ms of waiting; retry with backoff");
  }

  private static UnavailableException noLeader() {
    return new UnavailableException(
        "the cluster has no leader now (an election is under way); "
            + "retry in a moment, here or on another node");
  }

  private OverloadedException busy() {
    return new OverloadedException(
        "the log is busy: "
            + queue.size()
            + " submissions are already queued here; retry with backoff");
  }

  /**
   * The answer for an entry this node's store holds at {@code index}, once the head that includes
   * it is published: the store can show an entry a moment before (apply writes, then publishes),
   * and the proof must be against a checkpoint that covers the entry.
   */
  private CompletableFuture<Sequenced> published(long index) {
    CompletableFuture<Sequenced> f = new CompletableFuture<>();
    machine
        .whenSize(index + 1)
        .orTimeout(LOCAL_APPLY_SECONDS, TimeUnit.SECONDS)
        .whenComplete(
            (cp, err) -> {
              if (err != null) {
                f.completeExceptionally(
                    new UnavailableException(
                        "entry " + index + " is stored here but not yet published; retry"));
                return;
              }
              try {
                f.complete(found(index, cp));
              } catch (RuntimeException e) {
                f.completeExceptionally(e);
              }
            });
    return f;
  }

  /**
   * An entry this node's store holds: its stored leaf, with the checkpoint given (which includes
   * it).
   */
  private Sequenced found(long index, SignedCheckpoint cp) {
    byte[] leaf =
        storage
            .leaf(index)
            .orElseThrow(
                () -> new StorageException("entry index " + index + " has no leaf in the store"));
    return new Sequenced(index, leaf, Hashes.leafHash(leaf), true, cp);
  }

  /**
   * Batches this node proposed since it started, by path: {@code own_server} (in process, while it
   * led) and {@code leader_client} (through the Ratis client, to another leader).
   */
  Map<String, Long> proposals() {
    Map<String, Long> out = new LinkedHashMap<>();
    out.put("own_server", toOwnServer.get());
    out.put("leader_client", toLeader.get());
    return out;
  }

  @Override
  public SignedCheckpoint head() {
    return machine.head();
  }

  @Override
  public boolean mayLag() {
    return true;
  }

  /**
   * Proposes a control record ({@link BatchCodec.Reads}) by the route a batch takes (this node's
   * own server while it leads, else a client aimed at the leader, replaced should it fail);
   * completes when it is committed and applied on the leader.
   */
  CompletableFuture<Void> announce(byte[] control) {
    Message m = Message.valueOf(UnsafeByteOperations.unsafeWrap(control));
    boolean leading = leader.get().filter(self::equals).isPresent();
    return (leading ? toOwnServer(m) : sendReplacingOnFailure(m, current()))
        .thenApply(
            r -> {
              if (!r.isSuccess()) throw new CompletionException(r.getException());
              return null;
            });
  }

  /** Sends a write to this node's own Raft server ({@code via} null) or through a client. */
  private CompletableFuture<RaftClientReply> send(Message m, RaftClient via) {
    if (via == null) return toOwnServer(m);
    try {
      return via.async().send(m);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Sends through a client and replaces it should the request fail short of an answer from the
   * state machine: Ratis then closes the client's ordered window and every later request on it
   * fails at once ("SlidingWindow ... is closed"), which nothing else notices while the leader
   * stays the same.
   */
  private CompletableFuture<RaftClientReply> sendReplacingOnFailure(Message m, RaftClient c) {
    return send(m, c)
        .whenComplete(
            (r, err) -> {
              if (err != null) replace(c);
            });
  }

  /**
   * A linearizable read on this node: Ratis asks the leader for its commit index and waits until
   * this node applied it.
   */
  @Override
  public CompletableFuture<Void> caughtUp() {
    return current().async().sendReadOnly(Message.EMPTY, self).thenApply(r -> null);
  }

  /**
   * The Ratis client, aimed at the leader this node's Raft server knows of. Ratis' client moves to
   * another server when told "not leader", but keeps retrying a leader that went silent (frozen,
   * cut off) until its requests time out again and again; this node's Raft server learns of the new
   * leader within an election timeout, so a new client is made for it then. The old one is closed a
   * little later, once what it carries has had time to finish.
   */
  private synchronized RaftClient current() {
    RaftClient old = client;
    Optional<RaftPeerId> now = leader.get();
    if (now.isPresent() && !now.get().equals(aimedAt)) {
      aimedAt = now.get();
      client = clients.apply(aimedAt);
      abandon(old);
      CompletableFuture.delayedExecutor(30, TimeUnit.SECONDS).execute(() -> closeQuietly(old));
    }
    return client;
  }

  /** Replaces a client that lost a request, unless it was replaced already. */
  private synchronized void replace(RaftClient lost) {
    if (client != lost) return;
    client = clients.apply(aimedAt);
    abandon(lost);
    CompletableFuture.delayedExecutor(30, TimeUnit.SECONDS).execute(() -> closeQuietly(lost));
  }

  private static void closeQuietly(RaftClient c) {
    try {
      c.close();
    } catch (IOException | RuntimeException ignored) {
      // An old client on its way out.
    }
  }

  private void run() {
    while (!closing || !queue.isEmpty()) {
      try {
        // A free place first, then the batch: what arrives while every place is taken joins the
        // next proposal instead of waiting behind a small one formed too early. While every place
        // is taken, look for a leader change now and then: it frees the places of batches sent to
        // the old leader (current() abandons them).
        if (!proposals.tryAcquire(50, TimeUnit.MILLISECONDS)) {
          current();
          continue;
        }
        List<Pending> batch;
        try {
          batch = nextBatch();
        } catch (InterruptedException e) {
          proposals.release();
          throw e;
        }
        if (!batch.isEmpty()) refuseStale(batch);
        if (batch.isEmpty()) {
          proposals.release();
          continue;
        }
        propose(batch);
      } catch (InterruptedException e) {
        if (closing) continue;
        Thread.currentThread().interrupt();
        break;
      }
    }
  }

  /**
   * What is queued, up to {@code maxBatch} entries and half a proposal's bytes; lingering for more
   * while it is short of {@link #FULL_PROPOSAL} and another proposal is on its way. Empty when
   * nothing came within 100 ms; the caller holds a place.
   */
  private List<Pending> nextBatch() throws InterruptedException {
    List<Pending> batch = new ArrayList<>();
    Pending p = queue.poll(100, TimeUnit.MILLISECONDS);
    if (p == null) return batch;
    boolean busy = proposals.availablePermits() < PROPOSALS_IN_FLIGHT - 1;
    long until = System.nanoTime() + LINGER_NANOS;
    long bytes = 0;
    while (p != null) {
      batch.add(p);
      bytes += p.entry().body().length;
      if (batch.size() >= maxBatch || bytes >= MAX_PROPOSAL_BYTES / 2) break;
      p = queue.poll();
      if (p == null && busy && batch.size() < FULL_PROPOSAL) {
        long left = until - System.nanoTime();
        if (left > 0) p = queue.poll(left, TimeUnit.NANOSECONDS);
      }
    }
    // A group goes whole into one proposal, past maxBatch if it must (a group is one request, at
    // most 256 KiB). Its entries were offered together under the lock, so the rest of it is at the
    // head of the queue once the lock is ours.
    Object last = batch.get(batch.size() - 1).group();
    if (last != null) {
      synchronized (queueing) {
        for (Pending q; (q = queue.peek()) != null && q.group() == last; ) batch.add(queue.poll());
      }
    }
    return batch;
  }

  /**
   * Takes out of the batch what the standing-queue rule refuses as it leaves the queue; a group is
   * refused whole when one of its entries is.
   */
  private void refuseStale(List<Pending> batch) {
    standing.leaveInGroups(
        batch,
        Pending::queuedAt,
        Pending::group,
        System.nanoTime(),
        (p, why) -> {
          finish(p, null, new OverloadedException(why));
        });
  }

  private void propose(List<Pending> batch) {
    List<Admitted> entries = new ArrayList<>(batch.size());
    for (Pending p : batch) entries.add(p.entry());
    byte[] bytes =
        BatchCodec.encode(
            new BatchCodec.Proposal(System.currentTimeMillis(), entries), version.getAsInt());
    Message m = Message.valueOf(UnsafeByteOperations.unsafeWrap(bytes));
    boolean leading = leader.get().filter(self::equals).isPresent();
    (leading ? toOwnServer : toLeader).incrementAndGet();
    // current() also notices a new leader: batches still out through a client aimed at the old
    // one are given up on now (abandon), on a node that has just become the leader too.
    RaftClient client = current();
    RaftClient via = leading ? null : client;
    Proposal proposal = new Proposal(batch, via, new AtomicBoolean());
    outstanding.add(proposal);
    // Bounded: Ratis' client retries within its policy, but should one of its requests never be
    // answered, its submitters must still hear.
    send(m, via)
        .copy()
        .orTimeout(PROPOSAL_SECONDS, TimeUnit.SECONDS)
        .whenComplete(
            (reply, err) -> {
              outstanding.remove(proposal);
              if (!proposal.end()) return; // already given up on when the leader changed
              proposals.release();
              // A Ratis client whose request failed for good closes its ordered window: every later
              // request on it fails at once. Any failure short of an answer from the state machine
              // (a request that timed out here too) therefore gets this node a fresh client.
              if (err != null && via != null) replace(via);
              if (err == null && reply.isSuccess()) {
                answer(
                    batch,
                    BatchCodec.decodeOutcome(
                        reply.getMessage().getContent().asReadOnlyByteBuffer()));
              } else {
                Throwable why = err != null ? unwrap(err) : reply.getException();
                UnavailableException e =
                    new UnavailableException(
                        "the cluster did not take the batch: " + describe(why) + "; retry");
                for (Pending p : batch) finish(p, null, e);
              }
            });
  }

  /**
   * Proposes through this node's own Raft server, skipping the loopback client and its gRPC and
   * protobuf work. Should leadership have moved meanwhile (the server answers "not leader" or "not
   * ready"; nothing was appended), the proposal goes through the client to the new leader instead.
   */
  private CompletableFuture<RaftClientReply> toOwnServer(Message m) {
    CompletableFuture<RaftClientReply> local;
    try {
      local = own.submit(m);
    } catch (IOException e) {
      local = CompletableFuture.failedFuture(e);
    }
    return local.thenCompose(
        r -> {
          if (r.isSuccess() || !leadershipMoved(r.getException())) {
            return CompletableFuture.completedFuture(r);
          }
          return sendReplacingOnFailure(m, current());
        });
  }

  private static boolean leadershipMoved(Throwable t) {
    return t instanceof NotLeaderException || t instanceof LeaderNotReadyException;
  }

  /**
   * Gives up on the batches sent through a client aimed at a leader that is no longer: their
   * submitters hear UNAVAILABLE now (and retry; any that did get in are found as duplicates) rather
   * than after the old client's timeouts, and their places go to new batches.
   */
  private void abandon(RaftClient old) {
    UnavailableException e =
        new UnavailableException(
            "the cluster's leader changed while this entry was on its way; retry");
    for (Proposal p : outstanding) {
      if (p.via() != old || !p.end()) continue;
      outstanding.remove(p);
      proposals.release();
      for (Pending x : p.batch()) finish(x, null, e);
    }
  }

  /** Tells the callers, once this node's store holds the batch the cluster applied. */
  private void answer(List<Pending> batch, BatchCodec.Outcome o) {
    if (o.indices().length != batch.size()) {
      StorageException e =
          new StorageException(
              "the cluster answered "
                  + o.indices().length
                  + " results for a batch of "
                  + batch.size());
      for (Pending p : batch) finish(p, null, e);
      return;
    }
    long size = 0;
    for (long i : o.indices()) size = Math.max(size, i + 1);
    machine
        .whenSize(size)
        .orTimeout(LOCAL_APPLY_SECONDS, TimeUnit.SECONDS)
        .whenComplete(
            (cp, err) -> {
              for (int i = 0; i < batch.size(); i++) {
                Pending p = batch.get(i);
                if (err != null) {
                  finish(
                      p,
                      null,
                      new UnavailableException(
                          "the cluster took the entry at index "
                              + o.indices()[i]
                              + " but this node has not applied it yet; retry (a resubmission finds it)"));
                  continue;
                }
                try {
                  if (o.duplicate()[i]) {
                    finish(p, found(o.indices()[i], cp), null);
                  } else {
                    byte[] leaf = p.entry().leaf(o.timestampMs());
                    finish(
                        p,
                        new Sequenced(o.indices()[i], leaf, Hashes.leafHash(leaf), false, cp),
                        null);
                  }
                } catch (RuntimeException e) {
                  finish(p, null, e);
                }
              }
            });
  }

  private void finish(Pending p, Sequenced s, Throwable err) {
    inFlight.remove(p.key(), p);
    if (err != null) {
      p.done().completeExceptionally(err);
    } else {
      p.done().complete(s);
    }
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private static String describe(Throwable t) {
    if (t == null) return "no reason given";
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  /**
   * Stops taking entries, proposes those already queued, and waits (up to 30 s) for their answers.
   */
  @Override
  public void close() {
    closing = true;
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
      proposals.tryAcquire(PROPOSALS_IN_FLIGHT, 30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Pending p : inFlight.values())
      finish(p, null, new ShuttingDownException("this node is shutting down"));
    closeQuietly(client);
    LOG.fine("replicated sequencer closed");
  }
}
