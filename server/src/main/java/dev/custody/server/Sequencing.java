package dev.custody.server;

import dev.custody.server.cluster.ClusterNode;
import dev.custody.server.metrics.ServerMetrics;
import dev.custody.server.sequencer.BatchListener;
import dev.custody.server.sequencer.GroupCommitSequencer;
import dev.custody.server.sequencer.ReadOnlySequencer;
import dev.custody.server.sequencer.Sequencer;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.util.logging.Logger;

/**
 * The log's write path as this server runs it: a single node's group-commit sequencer, a cluster
 * node's replicated one, or a read-only stand-in that refuses every write.
 *
 * @param cluster the cluster node the sequencer belongs to, or null on a single node
 */
record Sequencing(Sequencer sequencer, ClusterNode cluster) {
  private static final Logger LOG = Logger.getLogger(Sequencing.class.getName());

  void close() {
    if (cluster != null) {
      cluster.close(); // its sequencer first, then the Raft server
    } else {
      sequencer.close();
    }
  }

  /** Each committed batch, counted in the metrics and passed on to the caller's listener. */
  static BatchListener observed(ServerMetrics metrics, BatchListener batches) {
    return (n, nanos) -> {
      metrics.committed(n, nanos);
      batches.committed(n, nanos);
    };
  }

  static Sequencing start(
      ServerConfig c,
      LogStorage storage,
      LogIdentity id,
      String readOnly,
      BatchListener observed,
      ServerMetrics metrics)
      throws IOException {
    Sequencing s;
    if (readOnly != null) {
      s = new Sequencing(new ReadOnlySequencer(storage, readOnly), null);
    } else if (c.cluster().isPresent()) {
      if (c.keys().key().isEmpty() || c.origin().isEmpty()) {
        throw new IllegalArgumentException(
            "a cluster node needs --origin and --key-file (or --key-uri): every node signs "
                + "with the same log key (make one with custody keygen --type log, or keep it in a token)");
      }
      ClusterNode node =
          ClusterNode.start(
              c.cluster().get(),
              storage,
              id.origin(),
              id.signers(),
              c.queueCapacity(),
              c.maxBatch(),
              c.guard().pushback(),
              observed);
      s = new Sequencing(node.sequencer(), node);
      boolean plaintext = c.cluster().get().tls().isEmpty();
      if (plaintext) {
        LOG.warning(
            "the Raft port runs WITHOUT TLS (--raft-plaintext): anyone who reaches "
                + c.cluster().get().raftBind()
                + " can write to the log, vote and change the members");
      }
      metrics.cluster(node, plaintext);
    } else {
      s =
          new Sequencing(
              new GroupCommitSequencer(
                  storage,
                  id.origin(),
                  id.signers(),
                  c.queueCapacity(),
                  c.maxBatch(),
                  c.guard().pushback(),
                  observed),
              null);
    }
    Sequencer seq = s.sequencer();
    metrics.log(() -> seq.head().size());
    return s;
  }
}
