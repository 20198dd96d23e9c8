package dev.custody.server.pushback;

/**
 * The log could not take a write (its storage failed, is full, or is read-only). The sequencer has
 * logged the cause once; callers answer UNAVAILABLE without logging it again per request.
 */
public final class WriteRefusedException extends PushbackException {
  public WriteRefusedException(String message, Throwable cause) {
    super(message, cause);
  }
}
