package dev.custody.checkpoint;

/** A checkpoint that is malformed, from the wrong log, or not signed by the log's key. */
public final class CheckpointException extends Exception {
  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
