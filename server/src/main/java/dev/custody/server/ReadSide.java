package dev.custody.server;

import dev.custody.api.v1.LogInfo;
import dev.custody.chain.LinkVerifier;
import dev.custody.server.admission.Admission;
import dev.custody.server.admission.CheckPool;
import dev.custody.server.admission.LayerLinkAdmission;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.admission.Warmup;
import dev.custody.server.api.LogInfos;
import dev.custody.server.cluster.ClusterNode;
import dev.custody.server.metrics.ServerMetrics;
import dev.custody.server.read.LogReader;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.Daemons;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Everything the services share beside the write path: the reader and its caches, the links,
 * admission and its check threads, witness cosigning, the worker and disk-read pools, GetLogInfo.
 */
record ReadSide(
    LogReader reader,
    StoredLinks links,
    LinkVerifier verifier,
    Admission admission,
    CheckPool checks,
    Cosigning cosigning,
    ExecutorService worker,
    ExecutorService diskReads,
    ScheduledExecutorService timer,
    Supplier<LogInfo> info) {
  void close() {
    cosigning.close();
    checks.closeNow();
    worker.shutdownNow();
    diskReads.shutdownNow();
    timer.shutdownNow();
  }

  private static final Logger LOG = Logger.getLogger(ReadSide.class.getName());

  /**
   * Hard cap on submissions waiting for a signature check: room for a burst of a few thousand links
   * (at most 64 KiB each, checked before queueing); the standing-queue rule refuses overload long
   * before a steady flood fills it.
   */
  static final int CHECKS_QUEUE = 4096;

  /** Longest the start-up may spend warming the signature checks. */
  static final long WARMUP_BUDGET_MILLIS = 3_000;

  /** Threads for proofs that wait for the disk: enough to keep a disk's queue full. */
  static final int DISK_READ_THREADS = 16;

  /** Proofs waiting for a disk-reads thread before more are refused with RESOURCE_EXHAUSTED. */
  static final int DISK_READS_QUEUE = 4096;

  private static ExecutorService diskReadsPool() {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            DISK_READ_THREADS,
            DISK_READ_THREADS,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(DISK_READS_QUEUE),
            Daemons.named("custody-disk-reads"));
    pool.allowCoreThreadTimeOut(true); // a warm cache needs none of them
    return pool;
  }

  /**
   * Loads the upper strata of the tree into the reader's slice cache, on a thread of its own so
   * that the port opens at once: proofs served meanwhile read the store as they would anyway.
   */
  private static void prefetch(LogReader reader, long size) {
    Daemons.start(
        "custody-prefetch",
        () -> {
          long t0 = System.nanoTime();
          try {
            long slices = reader.prefetch(size);
            LOG.info(
                "cached "
                    + slices
                    + " slices of the tree's upper strata in "
                    + (System.nanoTime() - t0) / 1_000_000
                    + " ms");
          } catch (RuntimeException e) {
            // Only a cache: a failure here costs the first proofs a read each, and a damaged
            // store is reported by the reads that need it.
            LOG.warning("caching the tree's upper strata failed: " + e.getMessage());
          }
        });
  }

  static ReadSide open(
      ServerConfig c, LogStorage storage, Sequencing seq, LogIdentity id, ServerMetrics metrics) {
    // Proofs for acknowledgements and entry streams: bounded, so a flood queues here rather than
    // spawning threads.
    ExecutorService worker =
        Executors.newFixedThreadPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()),
            Daemons.named("custody-worker"));
    ExecutorService diskReads = diskReadsPool();
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(Daemons.named("custody-deadlines"));
    // Signature checks before sequencing: as many threads as cores; a standing flood is refused
    // (RESOURCE_EXHAUSTED) rather than held in memory, a burst that drains is served.
    CheckPool checks =
        new CheckPool(
            Math.max(2, Runtime.getRuntime().availableProcessors()),
            CHECKS_QUEUE,
            c.guard().pushback());
    LogInfo fixed =
        LogInfos.of(
            id.origin(),
            id.verifierKey(),
            id.verifier().subjectPublicKeyInfo(),
            id.keysInSigningOrder());
    ClusterNode node = seq.cluster();
    // In a cluster the role changes with elections: GetLogInfo says it as it is at the call.
    Supplier<LogInfo> info =
        node == null
            ? () -> fixed
            : () ->
                fixed.toBuilder()
                    .setNodeId(node.nodeId())
                    .setRole(node.role())
                    .setLeaderId(node.leaderId().orElse(""))
                    .build();
    LogReader reader = new LogReader(storage);
    prefetch(reader, seq.sequencer().head().size());
    StoredLinks links = new StoredLinks(storage);
    // Chosen once: the native provider where it loads and passes its self-test, else Bouncy Castle;
    // same verdicts.
    LinkVerifier verifier = LinkVerifier.fastest();
    metrics.readSide(checks::queued, reader::tileReads, verifier.name());
    Admission admission =
        c.acceptAnyEntry() ? new OpaqueAdmission() : new LayerLinkAdmission(links, verifier);
    if (!admission.cheap()) {
      LOG.fine("signature checks warmed in " + Warmup.run(admission, WARMUP_BUDGET_MILLIS) + " ms");
    }
    Cosigning cosigning =
        new Cosigning(c.witnesses(), c.witnessQuorum(), reader, seq.sequencer()::head, metrics);
    return new ReadSide(
        reader, links, verifier, admission, checks, cosigning, worker, diskReads, timer, info);
  }
}
