package dev.custody.server.export;

import dev.custody.io.DurableFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A folder that any web server can serve. Immutable files are published whole or not at all ({@link
 * DurableFiles#publishNew}); the checkpoint is replaced atomically; every file and its folder are
 * forced to disk before the call returns. Files are world-readable (0644), for a web server running
 * as another user. Temporary files a crash left behind are removed at start. Two processes must not
 * export to one folder at once (the cluster's leader is the one writer).
 */
public final class FolderSink implements TileSink {
  private final Path dir;

  public FolderSink(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p :
          (Iterable<Path>)
              all.filter(p -> p.getFileName().toString().endsWith(DurableFiles.TEMP_SUFFIX))
                  ::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  @Override
  public void putImmutable(String path, byte[] content) throws IOException {
    Path f = dir.resolve(path);
    if (DurableFiles.publishNew(f, content, DurableFiles.PUBLIC)) return;
    if (!Arrays.equals(Files.readAllBytes(f), content)) {
      throw new ConflictException(
          f + " is already published with other bytes: another log's files, or a fork");
    }
  }

  @Override
  public Optional<byte[]> checkpoint() throws IOException {
    Path f = dir.resolve("checkpoint");
    return Files.exists(f) ? Optional.of(Files.readAllBytes(f)) : Optional.empty();
  }

  @Override
  public void putCheckpoint(byte[] content, Optional<byte[]> expected) throws IOException {
    Path f = dir.resolve("checkpoint");
    // One writer (see the class comment): read, compare, replace is enough here.
    Optional<byte[]> now = checkpoint();
    if (now.isPresent() != expected.isPresent()
        || (now.isPresent() && !Arrays.equals(now.get(), expected.get()))) {
      throw new ConflictException(f + " changed under this writer; not replacing it");
    }
    DurableFiles.replace(f, content, DurableFiles.PUBLIC);
  }

  @Override
  public String describe() {
    return dir.toString();
  }
}
