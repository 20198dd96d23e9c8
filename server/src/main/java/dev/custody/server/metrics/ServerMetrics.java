package dev.custody.server.metrics;

import dev.custody.server.cluster.ClusterNode;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * Every {@code custody_*} series the log server exports, declared here and nowhere else: its name,
 * its help text and its labels. A part that records a series is handed the data point (or asks for
 * it by its labels); a part that is read at each scrape registers its gauges through the method for
 * its kind of part. One instance per server; thread-safe.
 */
public final class ServerMetrics {
  /** The latency histograms' upper bounds, seconds: 100 µs to 10 s. */
  public static final double[] LATENCY_BUCKETS = Metrics.LATENCY_BUCKETS.clone();

  /** An export target as its gauges see it. */
  public record Sink(String name, LongSupplier exportedSize) {}

  private final Metrics m = new Metrics();
  private final DistributionDataPoint batchEntries =
      m.histogram("custody_batch_entries", "entries per group commit", Metrics.SIZE_BUCKETS);
  private final DistributionDataPoint commitSeconds =
      m.histogram(
          "custody_commit_seconds",
          "one synced RocksDB write batch (leaves, tiles, checkpoint), seconds",
          Metrics.LATENCY_BUCKETS);
  private final CounterDataPoint appended =
      m.counter("custody_entries_appended_total", "entries appended since start");

  // ---------------------------------------------------------------- recorded on events

  /** A group commit of {@code entries} that took {@code nanos}. */
  public void committed(int entries, long nanos) {
    batchEntries.observe(entries);
    commitSeconds.observe(nanos / 1e9);
    appended.inc(entries);
  }

  /**
   * Entries submitted (one per Submit, one per entry of a SubmitBatch) ending with {@code result}.
   */
  public CounterDataPoint submissions(String result) {
    // Once per outcome, not per entry: the write path counts every entry.
    return submissionsByOutcome.computeIfAbsent(
        result,
        r ->
            m.counter(
                SUBMISSIONS, "entries submitted (Submit and SubmitBatch) by outcome", "result", r));
  }

  private final Map<String, CounterDataPoint> submissionsByOutcome = new ConcurrentHashMap<>();

  private static final String SUBMISSIONS = "custody_submissions_total";

  /** The Submit counters by outcome, as the explorer's status page charts them. */
  public Map<String, Long> submissionsByResult() {
    return m.counterValues(SUBMISSIONS);
  }

  /** add-checkpoint requests to {@code witness} ending with {@code result}. */
  public CounterDataPoint witnessRequests(String witness, String result) {
    return m.counter(
        "custody_witness_requests_total",
        "add-checkpoint requests to witnesses by result",
        "result",
        result,
        "witness",
        witness);
  }

  /** gRPC calls of {@code method} that closed with {@code code}, from headers to close. */
  public DistributionDataPoint grpcCall(String method, String code) {
    return m.histogram(
        "custody_grpc_request_seconds",
        "gRPC calls by method and status, seconds from headers to close",
        Metrics.LATENCY_BUCKETS,
        "code",
        code,
        "method",
        method);
  }

  // ---------------------------------------------------------------- read at each scrape

  /** The tree and the JVM: what every server has. */
  public void log(LongSupplier treeSize) {
    m.gauge("custody_tree_size", "entries in the log's latest checkpoint", treeSize);
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    m.gauge(
        "custody_jvm_heap_used_bytes",
        "Java heap in use",
        () -> memory.getHeapMemoryUsage().getUsed());
    m.gauge(
        "custody_jvm_heap_max_bytes",
        "Java heap limit (-Xmx)",
        () -> memory.getHeapMemoryUsage().getMax());
  }

  /** Admission and reads: the check queue, the tile reads, the signature implementation. */
  public void readSide(LongSupplier checksQueued, LongSupplier tileReads, String verifier) {
    m.gauge(
        "custody_signature_checks_queued",
        "submissions waiting for a signature check",
        checksQueued);
    m.counter(
        "custody_tile_reads_total",
        "stored runs of nodes read (a slice for a proof, a tile for a tile request); a node cache "
            + "hit reads none",
        tileReads);
    m.gauge(
        "custody_signature_verifier_info",
        "the implementation that checks link signatures (1)",
        () -> 1,
        "verifier",
        verifier);
  }

  /** The streaming calls open (GetEntries, FindLinks). */
  public void streams(LongSupplier open) {
    m.gauge("custody_entry_streams_open", "GetEntries and FindLinks streams open now", open);
  }

  /** A cluster node's state, and whether its Raft port runs without TLS. */
  public void cluster(ClusterNode node, boolean plaintext) {
    m.gauge(
        "custody_cluster_is_leader",
        "1 on the cluster's leader, 0 on the other nodes",
        () -> node.isLeader() ? 1 : 0);
    m.gauge(
        "custody_cluster_applied_index",
        "the Raft index this node's store has applied",
        node::appliedIndex);
    m.gauge(
        "custody_cluster_follower_lag_entries",
        "on the leader, Raft entries the slowest follower lacks; 0 elsewhere",
        node::followerLag);
    m.gauge(
        "custody_cluster_term",
        "the Raft term: it grows by one or more with each election",
        node::term);
    m.gauge(
        "custody_cluster_leader_changes",
        "leader changes this node has seen since it started",
        node::leaderChanges);
    m.gauge(
        "custody_cluster_raft_plaintext",
        "1 when this node's Raft port runs without TLS (--raft-plaintext): anyone who reaches it "
            + "can write to the log, vote and change the members",
        () -> plaintext ? 1 : 0);
    m.gauge(
        "custody_cluster_fence_unreadable",
        "1 while this node, as leader, cannot read the exported checkpoint and so does not lead "
            + "(--export-fence on)",
        () -> node.fenceUnreadable() ? 1 : 0);
    m.gauge(
        "custody_cluster_failed_snapshots",
        "snapshots of the store that failed since start; each is retried after a pause that "
            + "doubles up to 5 minutes",
        node::failedSnapshots);
    m.gauges(
        "custody_cluster_proposals",
        "batches this node proposed since start, by path: own_server (in process, while it leads), "
            + "leader_client (through a Ratis client to the leader)",
        "path",
        node::proposals);
    m.gauge(
        "custody_cluster_refused_proposals",
        "batches this node refused as leader before they committed (malformed, or a field out of "
            + "bounds: a timestamp ahead of its clock, a leaf hash not of the body, ...)",
        node::refusedProposals);
    m.gauge(
        "custody_cluster_refusing_to_lead",
        "1 while this node refuses to lead (a published checkpoint is ahead of or inconsistent "
            + "with its store)",
        () -> node.refusingToLead().isPresent() ? 1 : 0);
  }

  /** Each export target's size and lag behind {@code treeSize}, by sink. */
  public void exports(List<Sink> sinks, LongSupplier treeSize) {
    m.gauges(
        "custody_export_size",
        "the tree size the export target holds (-1 until known; on a cluster, known on the leader)",
        "sink",
        () -> bySink(sinks, e -> e.exportedSize().getAsLong()));
    m.gauges(
        "custody_export_lag_entries",
        "entries in this node's latest checkpoint not yet exported (on a cluster, on the leader; "
            + "0 elsewhere)",
        "sink",
        () ->
            bySink(
                sinks,
                e -> {
                  long exported = e.exportedSize().getAsLong();
                  return exported < 0 ? 0 : Math.max(0, treeSize.getAsLong() - exported);
                }));
  }

  private static Map<String, Long> bySink(List<Sink> sinks, ToLongFunction<Sink> value) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (Sink e : sinks) out.put(e.name(), value.applyAsLong(e));
    return out;
  }

  /** Every series in Prometheus' text exposition format. */
  public String scrape() {
    return m.scrape();
  }
}
