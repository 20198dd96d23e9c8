package dev.custody.server.export;

import java.io.IOException;
import java.util.Optional;

/**
 * Where the log's tlog-tiles files are published for mirrors, CDNs and monitors: a folder or an
 * S3-compatible bucket.
 *
 * <p>Guarantees an implementation gives: {@link #putImmutable} never replaces a file (tiles,
 * partial tiles and entry bundles never change once published; identical bytes already there count
 * as success, different bytes are a {@link ConflictException}); everything is durable when a call
 * returns; the checkpoint is written last by the caller, after every file it names. Calls come from
 * one thread at a time.
 */
public interface TileSink extends AutoCloseable {
  /**
   * Publishes an immutable file at {@code path} (a tlog-tiles path, e.g. {@code tile/0/x001/234}).
   */
  void putImmutable(String path, byte[] content) throws IOException;

  /** The published checkpoint, if there is one. */
  Optional<byte[]> checkpoint() throws IOException;

  /**
   * Replaces the published checkpoint with {@code content}, provided the one there is still {@code
   * expected} (empty: none): two leaders racing cannot overwrite a newer checkpoint.
   */
  void putCheckpoint(byte[] content, Optional<byte[]> expected) throws IOException;

  /** Where this sink writes, for messages. */
  String describe();

  @Override
  default void close() {}

  /**
   * A file already published with other bytes than those being published: a fork, or another log's
   * files.
   */
  final class ConflictException extends IOException {
    public ConflictException(String message) {
      super(message);
    }
  }
}
