package dev.custody.server.sequencer;

/**
 * Told of every committed batch: for metrics and benchmarks. Runs on the sequencer thread: be
 * quick.
 */
@FunctionalInterface
public interface BatchListener {
  void committed(int entries, long commitNanos);
}
