package dev.custody.server.export;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.server.read.LogReader;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.Daemons;
import dev.custody.tiles.TilePath;
import dev.custody.tiles.Tiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The publish stage: follows the log's head and writes to a {@link TileSink} every full tile,
 * partial tile and entry bundle that a new checkpoint needs, then the checkpoint itself, with the
 * witness cosignatures gathered for it. Mirrors, CDNs and monitors then read the log from the sink
 * alone.
 *
 * <p>Only an active exporter writes ({@code active}: always on a single node; on a cluster, only on
 * the leader). Each time it becomes active it rereads the sink's checkpoint and resumes from there,
 * so a new leader continues exactly where the last one stopped; a sink whose checkpoint is ahead of
 * this node's store, or names a different root at its size, is never written to (that would be a
 * fork) and is reported by {@link #objection}, which a cluster node checks before it leads.
 */
public final class Exporter implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Exporter.class.getName());

  private final TileSink sink;
  private final LogReader reader;
  private final LogStorage storage;
  private final Supplier<Cosigning.Served> head;
  private final BooleanSupplier active;
  private final Predicate<String> ours;
  private final ScheduledExecutorService thread;
  private boolean
      synced; // false until the sink's checkpoint has been read since this became active
  private long written;
  private Optional<byte[]> publishedNote =
      Optional.empty(); // with its cosignatures: more may arrive for one size
  private volatile long exportedSize = -1;

  private Exporter(
      TileSink sink,
      LogReader reader,
      LogStorage storage,
      Supplier<Cosigning.Served> head,
      BooleanSupplier active,
      Predicate<String> ours) {
    this.ours = ours;
    this.sink = sink;
    this.reader = reader;
    this.storage = storage;
    this.head = head;
    this.active = active;
    this.thread = Executors.newSingleThreadScheduledExecutor(Daemons.named("custody-export"));
  }

  /**
   * Starts following the log; checks for a new checkpoint every {@code periodMillis}.
   *
   * @param ours whether a signed note is a checkpoint this log signed: a sink's checkpoint that is
   *     not is never acted on (not exported over, and no reason to refuse to lead)
   */
  public static Exporter start(
      TileSink sink,
      LogReader reader,
      LogStorage storage,
      Supplier<Cosigning.Served> head,
      BooleanSupplier active,
      Predicate<String> ours,
      long periodMillis) {
    Exporter e = new Exporter(sink, reader, storage, head, active, ours);
    e.thread.scheduleWithFixedDelay(e::publishQuietly, 0, periodMillis, TimeUnit.MILLISECONDS);
    return e;
  }

  /**
   * Writes whatever the current head needs, if this exporter is active; returns the size the sink
   * now holds (-1 when inactive). One thread at a time.
   */
  public synchronized long publish() throws IOException {
    if (!active.getAsBoolean()) {
      synced = false;
      return -1;
    }
    Cosigning.Served served = head.get();
    SignedCheckpoint cp = served.checkpoint();
    if (!synced) {
      publishedNote = sink.checkpoint();
      Optional<String> why = objection(cp, publishedNote);
      if (why.isPresent())
        throw new TileSink.ConflictException(
            "not exporting to " + sink.describe() + ": " + why.get());
      written = publishedNote.map(n -> size(new String(n, StandardCharsets.UTF_8))).orElse(0L);
      exportedSize = written;
      synced = true;
    }
    long size = cp.size();
    byte[] note = served.note().getBytes(StandardCharsets.UTF_8);
    if (size == written
        && publishedNote.isPresent()
        && MessageDigest.isEqual(publishedNote.get(), note)) return size;
    if (size < written)
      return written; // this node is behind what it exported earlier; catch up first
    for (int level = 0;
        Tiles.HEIGHT * level < Long.SIZE && (size >>> (Tiles.HEIGHT * level)) > 0;
        level++) {
      long fullBefore = (written >>> (Tiles.HEIGHT * level)) / Tiles.WIDTH;
      long nodes = size >>> (Tiles.HEIGHT * level);
      long fullNow = nodes / Tiles.WIDTH;
      for (long n = fullBefore; n < fullNow; n++) {
        sink.putImmutable(
            TilePath.tile(level, n, Tiles.WIDTH).format(), reader.tile(level, n, Tiles.WIDTH));
        if (level == 0)
          sink.putImmutable(
              TilePath.entries(n, Tiles.WIDTH).format(), reader.entryBundle(n, Tiles.WIDTH));
      }
      int width = (int) (nodes % Tiles.WIDTH);
      if (width > 0) {
        sink.putImmutable(
            TilePath.tile(level, fullNow, width).format(), reader.tile(level, fullNow, width));
        if (level == 0)
          sink.putImmutable(
              TilePath.entries(fullNow, width).format(), reader.entryBundle(fullNow, width));
      }
    }
    // Every file above is durable in the sink: only now may the checkpoint name them.
    sink.putCheckpoint(note, publishedNote);
    written = size;
    publishedNote = Optional.of(note);
    exportedSize = size;
    return size;
  }

  /**
   * Why this node must not lead (or export): the sink's checkpoint is ahead of {@code head}, or
   * names another root than this store holds at its size. Empty when the sink is empty or agrees.
   */
  public Optional<String> objection(SignedCheckpoint head) throws IOException {
    Optional<byte[]> exported = sink.checkpoint();
    if (exported.isPresent() && !ours.test(new String(exported.get(), StandardCharsets.UTF_8))) {
      LOG.severe(
          "the checkpoint in "
              + sink.describe()
              + " is not signed by this log's keys: it is ignored for leadership, and the export "
              + "stops until an operator removes it");
      return Optional.empty();
    }
    return objection(head, exported);
  }

  private Optional<String> objection(SignedCheckpoint head, Optional<byte[]> exported) {
    if (exported.isEmpty()) return Optional.empty();
    if (!ours.test(new String(exported.get(), StandardCharsets.UTF_8))) {
      return Optional.of(
          "the checkpoint in " + sink.describe() + " is not signed by this log's keys");
    }
    Checkpoint there;
    try {
      there = Checkpoint.ofNote(new String(exported.get(), StandardCharsets.UTF_8));
    } catch (CheckpointException e) {
      return Optional.of(
          "the checkpoint in " + sink.describe() + " is unreadable: " + e.getMessage());
    }
    if (!there.origin().equals(head.checkpoint().origin())) {
      return Optional.of(
          sink.describe() + " holds the log \"" + there.origin() + "\", not this one");
    }
    if (there.size() > head.size()) {
      return Optional.of(
          "the checkpoint in "
              + sink.describe()
              + " is at size "
              + there.size()
              + ", ahead of this node's store (size "
              + head.size()
              + "): this store is an old copy");
    }
    Optional<String> mine = storage.checkpointAt(there.size());
    boolean same =
        mine.map(
                n -> {
                  try {
                    return MessageDigest.isEqual(Checkpoint.ofNote(n).rootHash(), there.rootHash());
                  } catch (CheckpointException e) {
                    return false;
                  }
                })
            .orElse(false);
    if (!same) {
      return Optional.of(
          "the checkpoint in "
              + sink.describe()
              + " names another tree at size "
              + there.size()
              + " than this node's store: a fork");
    }
    return Optional.empty();
  }

  private static long size(String note) {
    try {
      return Checkpoint.ofNote(note).size();
    } catch (CheckpointException e) {
      return 0;
    }
  }

  /**
   * The size of the checkpoint this node last exported or found in the sink; -1 before it knows.
   */
  public long exportedSize() {
    return exportedSize;
  }

  public String describe() {
    return sink.describe();
  }

  private void publishQuietly() {
    try {
      publish();
    } catch (IOException | RuntimeException e) {
      synced = false; // reread the sink before the next attempt
      LOG.log(
          Level.WARNING,
          "exporting tiles to " + sink.describe() + " failed; will retry: " + e.getMessage());
    }
  }

  /**
   * Stops following; publishes once more if active, so a clean stop leaves the sink at the head.
   */
  @Override
  public void close() {
    thread.shutdown();
    try {
      thread.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    publishQuietly();
    sink.close();
  }
}
