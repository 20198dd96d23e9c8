package dev.custody.server.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.server.admission.AdmissionException;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.pushback.ShuttingDownException;
import dev.custody.server.pushback.UnavailableException;
import dev.custody.server.pushback.WriteRefusedException;
import dev.custody.server.storage.StorageException;
import io.grpc.Status;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * Every type the log throws has one status; a failure of no known type is INTERNAL, never "retry".
 */
class StatusesTest {
  private static void assertStatus(Status.Code code, String text, Throwable t) {
    Status s = Statuses.of(t);
    assertEquals(code, s.getCode(), String.valueOf(t));
    assertTrue(s.getDescription().contains(text), s.getDescription());
  }

  @Test
  void eachTypeHasItsStatus() {
    assertStatus(
        Status.Code.INVALID_ARGUMENT, "not a link", new AdmissionException.Malformed("not a link"));
    assertStatus(
        Status.Code.INVALID_ARGUMENT,
        "bad signature",
        new AdmissionException.RuleViolation("bad signature"));
    assertStatus(
        Status.Code.FAILED_PRECONDITION,
        "below",
        new AdmissionException.MissingPredecessor("the link below is missing"));
    assertStatus(Status.Code.RESOURCE_EXHAUSTED, "busy", new OverloadedException("busy"));
    assertStatus(Status.Code.UNAVAILABLE, "idempotent", new UnavailableException("no leader"));
    assertStatus(
        Status.Code.UNAVAILABLE,
        "shutting down",
        new ShuttingDownException("the log is shutting down"));
    assertStatus(
        Status.Code.UNAVAILABLE, "disk full", new WriteRefusedException("disk full", null));
    assertStatus(
        Status.Code.UNAVAILABLE, "storage failed", new StorageException("checksum mismatch"));
    assertStatus(
        Status.Code.OUT_OF_RANGE,
        "beyond",
        Status.OUT_OF_RANGE.withDescription("beyond").asRuntimeException());
    assertStatus(
        Status.Code.RESOURCE_EXHAUSTED,
        "busy",
        new CompletionException(new OverloadedException("busy")));
  }

  @Test
  void aBugIsInternalNotRetry() {
    // An IllegalStateException used to mean "shutting down" and was answered UNAVAILABLE: a bug
    // thrown as one would have sent every client into retries.
    assertStatus(Status.Code.INTERNAL, "internal error", new IllegalStateException("a bug"));
    assertStatus(Status.Code.INTERNAL, "internal error", new NullPointerException());
    assertStatus(
        Status.Code.INTERNAL,
        "internal error",
        new CompletionException(new ArithmeticException("/ by zero")));
  }
}
