package dev.custody.logclient;

import io.grpc.Status;
import java.io.IOException;

/**
 * A log's answer could not be had, or could not be trusted. {@link Refused}: the log answered with
 * an error (its gRPC status says which; a busy or restarting log was already retried with backoff).
 * {@link Untrusted}: the log answered, and the answer failed a check (a signature, a proof,
 * consistency with a checkpoint seen before): evidence against the log, never retried.
 */
public abstract sealed class LogException extends IOException
    permits LogException.Refused, LogException.Untrusted {
  LogException(String message, Throwable cause) {
    super(message, cause);
  }

  public static final class Refused extends LogException {
    private final Status.Code code;

    Refused(String what, Status status, Throwable cause) {
      super(
          what
              + ": the log answered "
              + status.getCode()
              + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")"),
          cause);
      this.code = status.getCode();
    }

    /**
     * The log's gRPC status: INVALID_ARGUMENT and FAILED_PRECONDITION are about the request,
     * UNAVAILABLE about the log.
     */
    public Status.Code code() {
      return code;
    }
  }

  public static final class Untrusted extends LogException {
    Untrusted(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
