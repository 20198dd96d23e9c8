package dev.custody.server;

import dev.custody.note.NoteSigner;
import dev.custody.server.cluster.ClusterNode;
import dev.custody.server.export.Exporter;
import dev.custody.server.export.FolderSink;
import dev.custody.server.export.TileSink;
import dev.custody.server.metrics.ServerMetrics;
import dev.custody.server.sequencer.Integrator;
import dev.custody.server.sequencer.Sequencer;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * The server's exports (a folder, a bucket), wired to the write path: on a cluster only the leader
 * exports, and with the export fence on a node does not lead while a sink objects.
 */
final class Exports {
  private Exports() {}

  /** The exports to a folder and a bucket, each following the published head. */
  static List<Exporter> start(
      ServerConfig c,
      LogStorage storage,
      ReadSide read,
      Sequencing seq,
      List<NoteSigner> signers,
      ServerMetrics metrics)
      throws IOException {
    List<TileSink> sinks = new ArrayList<>();
    if (c.tilesDir().isPresent()) sinks.add(new FolderSink(c.tilesDir().get()));
    c.s3().ifPresent(t -> sinks.add(t.open()));
    ClusterNode node = seq.cluster();
    // On a cluster only the leader exports (and it reads the sink's checkpoint first); a single
    // node always does.
    BooleanSupplier exporting = node == null ? () -> true : node::isLeader;
    List<Exporter> exports = new ArrayList<>();
    // Only a checkpoint this log signed counts in the sink: one anyone could PUT must not stop
    // every node from leading.
    Predicate<String> ours =
        new Integrator(seq.sequencer().head().checkpoint().origin(), signers)::signedByThisLog;
    for (TileSink sink : sinks) {
      exports.add(
          Exporter.start(
              sink, read.reader(), storage, read.cosigning()::served, exporting, ours, 200));
    }
    if (node != null && c.exportFence()) {
      node.setLeadershipCheck(
          head -> {
            for (Exporter e : exports) {
              Optional<String> why = e.objection(head);
              if (why.isPresent()) return why;
            }
            return Optional.empty();
          });
    }
    if (!exports.isEmpty()) {
      Sequencer sequencer = seq.sequencer();
      metrics.exports(
          exports.stream().map(e -> new ServerMetrics.Sink(e.describe(), e::exportedSize)).toList(),
          () -> sequencer.head().size());
    }
    return exports;
  }
}
