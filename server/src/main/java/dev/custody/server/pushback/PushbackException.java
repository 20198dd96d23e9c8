package dev.custody.server.pushback;

/**
 * The one family of "not now" answers: the log is well, but cannot take this entry at this moment.
 * Every member means that the same request, sent again later (here or on another node), may
 * succeed, and that resubmitting is harmless because submission is idempotent. Admission and the
 * sequencer both throw them; {@code api.Statuses} maps each to its gRPC status. A type of its own
 * so that no other failure (a bug, a damaged store) can be taken for pushback and retried blindly.
 */
public abstract sealed class PushbackException extends RuntimeException
    permits OverloadedException,
        ShuttingDownException,
        UnavailableException,
        WriteRefusedException {

  PushbackException(String message, Throwable cause) {
    // No stack trace: pushback is an answer, not a fault, and is thrown at overload rates.
    super(message, cause, false, false);
  }
}
