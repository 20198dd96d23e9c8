package dev.custody.server.tiles;

import dev.custody.io.DurableFiles;
import dev.custody.server.witness.Cosigning;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import dev.custody.server.read.LogReader;
import dev.custody.tiles.TilePath;
import dev.custody.tiles.Tiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Publishes the log as static tlog-tiles files in a directory, for any web server, object store
 * or CDN to serve: a stage after the write path that follows the published head, writes every
 * tile and entry bundle that a new checkpoint needs, then the checkpoint itself, with the witness
 * cosignatures gathered for it. Each file is written to a temporary name, forced to disk and
 * renamed, and its folder forced, all before the checkpoint that needs it is published: after a
 * power loss a published checkpoint never names a tile that is missing or empty (which a CDN
 * would then cache for a year). Files are world-readable (0644), for a web server running as
 * another user; temporary files a crash left behind are removed at start.
 */
public final class StaticTileWriter implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(StaticTileWriter.class.getName());

  private final Path dir;
  private final LogReader reader;
  private final Supplier<Cosigning.Served> head;
  private final ScheduledExecutorService thread;
  private long written;
  private String publishedNote = ""; // with its cosignatures: more may arrive for the same size

  private StaticTileWriter(Path dir, LogReader reader, Supplier<Cosigning.Served> head) throws IOException {
    this.dir = dir;
    this.reader = reader;
    this.head = head;
    Files.createDirectories(dir);
    removeLeftovers(dir);
    this.written = writtenSize();
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "custody-static-tiles");
      t.setDaemon(true);
      return t;
    });
  }

  /** Starts following the log; checks for a new checkpoint every {@code periodMillis}. */
  public static StaticTileWriter start(Path dir, LogReader reader, Supplier<Cosigning.Served> head, long periodMillis)
      throws IOException {
    StaticTileWriter w = new StaticTileWriter(dir, reader, head);
    w.thread.scheduleWithFixedDelay(w::publishQuietly, 0, periodMillis, TimeUnit.MILLISECONDS);
    return w;
  }

  /** Writes whatever the current head needs; returns its size. Safe to call from one thread at a time. */
  public synchronized long publish() throws IOException {
    Cosigning.Served served = head.get();
    SignedCheckpoint cp = served.checkpoint();
    long size = cp.size();
    if (size == written && served.note().equals(publishedNote) && Files.exists(dir.resolve("checkpoint"))) return size;
    for (int level = 0; Tiles.HEIGHT * level < Long.SIZE && (size >>> (Tiles.HEIGHT * level)) > 0; level++) {
      long fullBefore = (written >>> (Tiles.HEIGHT * level)) / Tiles.WIDTH;
      long nodes = size >>> (Tiles.HEIGHT * level);
      long fullNow = nodes / Tiles.WIDTH;
      for (long n = fullBefore; n < fullNow; n++) {
        write(TilePath.tile(level, n, Tiles.WIDTH), reader.tile(level, n, Tiles.WIDTH));
        if (level == 0) write(TilePath.entries(n, Tiles.WIDTH), reader.entryBundle(n, Tiles.WIDTH));
      }
      int width = (int) (nodes % Tiles.WIDTH);
      if (width > 0) {
        write(TilePath.tile(level, fullNow, width), reader.tile(level, fullNow, width));
        if (level == 0) write(TilePath.entries(fullNow, width), reader.entryBundle(fullNow, width));
      }
    }
    // Every tile above is on disk, renamed and its folder forced: only now may the checkpoint name them.
    writeFile(dir.resolve("checkpoint"), served.note().getBytes(StandardCharsets.UTF_8));
    written = size;
    publishedNote = served.note();
    return size;
  }

  private void publishQuietly() {
    try {
      publish();
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "writing static tiles to " + dir + " failed; will retry", e);
    }
  }

  private void write(TilePath p, byte[] content) throws IOException {
    writeFile(dir.resolve(p.format()), content);
  }

  private static void writeFile(Path f, byte[] content) throws IOException {
    DurableFiles.replace(f, content, DurableFiles.PUBLIC);
  }

  /** Temporary files of writes that a crash interrupted: never published, safe to delete. */
  private static void removeLeftovers(Path dir) throws IOException {
    try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) all.filter(p -> p.getFileName().toString().endsWith(DurableFiles.TEMP_SUFFIX))::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The size of the checkpoint this directory already has, so a restart resumes, not redoes. */
  private long writtenSize() {
    Path f = dir.resolve("checkpoint");
    if (!Files.exists(f)) return 0;
    try {
      return dev.custody.checkpoint.Checkpoint.parse(SignedNote.parse(Files.readString(f)).text()).size();
    } catch (IOException | NoteException | CheckpointException e) {
      return 0;
    }
  }

  @Override public void close() {
    thread.shutdown();
    try {
      thread.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    publishQuietly();
  }
}
