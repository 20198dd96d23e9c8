package dev.custody.server.pushback;

/**
 * The log cannot sequence this entry now, and the same request may well succeed shortly on this
 * node or another: a cluster electing a leader, a leader out of reach. Answered UNAVAILABLE;
 * clients retry with backoff, and resubmitting is idempotent.
 */
public final class UnavailableException extends PushbackException {
  public UnavailableException(String message) {
    super(message, null);
  }
}
