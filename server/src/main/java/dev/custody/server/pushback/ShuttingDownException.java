package dev.custody.server.pushback;

/**
 * The log (or this node) is stopping and takes no more work. Answered UNAVAILABLE: the same request
 * succeeds on another node or after a restart, and resubmitting is idempotent. Its own type so that
 * no other failure can be taken for it (a bug answered "try again" would hide).
 */
public final class ShuttingDownException extends PushbackException {
  public ShuttingDownException(String message) {
    super(message, null);
  }
}
