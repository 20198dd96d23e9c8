package dev.custody.server.api;

import dev.custody.server.admission.AdmissionException;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.pushback.PushbackException;
import dev.custody.server.pushback.ShuttingDownException;
import dev.custody.server.pushback.UnavailableException;
import dev.custody.server.pushback.WriteRefusedException;
import dev.custody.server.storage.StorageException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one mapping from what the log throws to the status a client sees, for every service:
 *
 * <table>
 *   <tr><th>thrown</th><th>status</th><th>the client should</th></tr>
 *   <tr><td>{@link AdmissionException.MissingPredecessor}</td><td>FAILED_PRECONDITION</td><td>log the link below first</td></tr>
 *   <tr><td>{@link AdmissionException.Malformed}, {@link AdmissionException.RuleViolation}</td><td>INVALID_ARGUMENT</td><td>fix the entry</td></tr>
 *   <tr><td>{@link OverloadedException}</td><td>RESOURCE_EXHAUSTED</td><td>retry with backoff</td></tr>
 *   <tr><td>{@link UnavailableException}, {@link ShuttingDownException}, {@link WriteRefusedException}</td>
 *       <td>UNAVAILABLE</td><td>retry, here or on another node (idempotent)</td></tr>
 *   <tr><td>{@link StorageException} of kind CORRUPTION</td><td>DATA_LOSS</td><td>read elsewhere; logged here</td></tr>
 *   <tr><td>{@link StorageException} (any other kind: a full disk, I/O, busy)</td><td>UNAVAILABLE</td><td>retry; logged here</td></tr>
 *   <tr><td>a {@link StatusRuntimeException} a handler made</td><td>its own</td><td></td></tr>
 *   <tr><td>anything else</td><td>INTERNAL</td><td>report it: a bug, logged here</td></tr>
 * </table>
 *
 * A {@link CompletionException} is judged by its cause.
 */
public final class Statuses {
  private static final Logger LOG = Logger.getLogger(Statuses.class.getName());
  private static final String IDEMPOTENT = " (submitting again is idempotent)";

  private Statuses() {}

  public static Status of(Throwable thrown) {
    Throwable e =
        thrown instanceof CompletionException && thrown.getCause() != null
            ? thrown.getCause()
            : thrown;
    if (e instanceof StatusRuntimeException sre) return sre.getStatus();
    if (e instanceof AdmissionException.MissingPredecessor)
      return Status.FAILED_PRECONDITION.withDescription(e.getMessage());
    if (e instanceof AdmissionException)
      return Status.INVALID_ARGUMENT.withDescription(e.getMessage());
    if (e instanceof OverloadedException)
      return Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage());
    if (e instanceof PushbackException) {
      // Unavailable, shutting down, write refused: the same request may succeed later or elsewhere.
      return Status.UNAVAILABLE.withDescription(e.getMessage() + IDEMPOTENT);
    }
    if (e instanceof StorageException s) {
      if (s.kind() == StorageException.Kind.CORRUPTION) {
        LOG.log(Level.SEVERE, "the store is damaged", e);
        return Status.DATA_LOSS.withDescription(
            "the log's store is damaged here ("
                + e.getMessage()
                + "); ask another node or the log's mirrors");
      }
      LOG.log(Level.WARNING, "storage failure while serving a request", e);
      String what =
          s.kind() == StorageException.Kind.DISK_FULL
              ? "the log's disk is full"
              : "the log's storage failed";
      return Status.UNAVAILABLE.withDescription(
          what + " (retry; submitting again is idempotent): " + e.getMessage());
    }
    LOG.log(Level.SEVERE, "unexpected failure while serving a request", e);
    return Status.INTERNAL.withDescription("internal error: " + e);
  }

  /**
   * Ends the call with {@link #of}'s status; a call the client already cancelled is left as it is.
   */
  public static void fail(StreamObserver<?> out, Throwable thrown) {
    try {
      out.onError(of(thrown).asRuntimeException());
    } catch (StatusRuntimeException | IllegalStateException alreadyClosed) {
      // Cancelled, or closed by the call deadline meanwhile: nothing is left to tell.
    }
  }
}
