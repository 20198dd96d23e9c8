package dev.custody.server.sequencer;

/** The sequencer's queue is full: the submitter should back off and retry. */
public final class OverloadedException extends RuntimeException {
  public OverloadedException(String message) {
    super(message, null, false, false);
  }
}
