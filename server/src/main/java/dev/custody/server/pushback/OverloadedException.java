package dev.custody.server.pushback;

/** The sequencer's queue is full: the submitter should back off and retry. */
public final class OverloadedException extends PushbackException {
  public OverloadedException(String message) {
    super(message, null);
  }
}
