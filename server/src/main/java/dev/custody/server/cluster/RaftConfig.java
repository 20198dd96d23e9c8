package dev.custody.server.cluster;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * How a node runs Ratis: its properties, the settings it refuses to run without, and the JVM's
 * common pool that Ratis' followers lean on. Every Ratis setting of a node is here.
 */
public final class RaftConfig {
  private RaftConfig() {}

  /** Raft entries kept before the latest snapshot when the log is purged. */
  static final long PRESERVED_ENTRIES = 1_000;

  /**
   * The Ratis settings of a node. The Raft log is flushed synchronously before an entry counts as
   * appended (the defaults, set here explicitly and checked by {@link #checkSafety}); reads on a
   * follower can wait for the leader's commit index (ReadIndex); snapshots are automatic.
   */
  static RaftProperties properties(ClusterNode.Settings s) {
    RaftProperties p = new RaftProperties();
    RaftServerConfigKeys.setStorageDir(p, List.of(s.raftDir().toFile()));
    GrpcConfigKeys.Server.setHost(p, s.raftBind());
    GrpcConfigKeys.Server.setPort(p, s.peers().members().get(s.nodeId()).getPort());
    RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, false);
    RaftServerConfigKeys.Log.setAsyncFlushEnabled(p, false);
    RaftServerConfigKeys.Rpc.setTimeoutMin(
        p, TimeDuration.valueOf(s.electionMin().toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(
        p, TimeDuration.valueOf(s.electionMax().toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, s.snapshotEvery());
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
    RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(1024, s.snapshotEvery()));
    // Keep the last entries before a snapshot when purging: a follower a little behind (one that
    // missed the last
    // few batches in an election) catches up from the log; only one far behind needs the snapshot.
    RaftServerConfigKeys.Log.setPurgePreservationLogNum(p, PRESERVED_ENTRIES);
    // Ratis keeps the Raft log's recent segments in the heap (by default up to 6 of 32 MB, 200 MB
    // in all): under sustained writes a node with the 256 MB heap of the campaigns ran out of
    // memory after two minutes. Small segments, two of them cached: what followers a little
    // behind need is still in memory, and older entries are read from disk.
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(SEGMENT_BYTES));
    RaftServerConfigKeys.Log.setSegmentCacheNumMax(p, 2);
    RaftServerConfigKeys.Log.setSegmentCacheSizeMax(p, SizeInBytes.valueOf(3 * SEGMENT_BYTES));
    // A proposal is at most 4 MiB of entries: room for it in every buffer on its way.
    RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf("9MB"));
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf("8MB"));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf("16MB"));
    // A leader that stops answering (frozen, cut off) is given up on after this, and the request
    // retried on the next.
    RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(1, TimeUnit.SECONDS));
    return p;
  }

  /**
   * Refuses to run with settings under which an acknowledged entry could be lost: the Raft log must
   * reach the disk before an entry counts as appended on a node.
   */
  static void checkSafety(RaftProperties p) {
    if (RaftServerConfigKeys.Log.unsafeFlushEnabled(p)) {
      throw new IllegalStateException(
          RaftServerConfigKeys.Log.UNSAFE_FLUSH_ENABLED_KEY
              + " is on: the Raft log would count entries before they reach the disk; refusing to start");
    }
    if (RaftServerConfigKeys.Log.asyncFlushEnabled(p)) {
      throw new IllegalStateException(
          RaftServerConfigKeys.Log.ASYNC_FLUSH_ENABLED_KEY
              + " is on: the Raft log would flush after acknowledging; refusing to start");
    }
  }

  /** A Raft log segment: room for two of the largest proposals (4 MiB). */
  static final long SEGMENT_BYTES = 9L << 20;

  /** The JVM option that sizes the common fork-join pool. */
  static final String COMMON_POOL_PARALLELISM =
      "java.util.concurrent.ForkJoinPool.common.parallelism";

  /**
   * Gives the JVM's common fork-join pool at least two threads, unless the operator sized it. A
   * follower's Ratis chains each batch it receives with {@code thenComposeAsync} on the default
   * executor, which is the common pool only when that pool has two threads or more; below that (any
   * machine of one or two cores) {@link CompletableFuture} starts a new thread per task: one thread
   * per Raft append, which cost a three-node cluster on two cores a third of its rate. Must run
   * before anything touches {@link ForkJoinPool} (first thing in {@code main}); has no effect
   * after.
   */
  public static void sizeCommonPool() {
    if (System.getProperty(COMMON_POOL_PARALLELISM) == null) {
      System.setProperty(COMMON_POOL_PARALLELISM, "2");
    }
  }
}
