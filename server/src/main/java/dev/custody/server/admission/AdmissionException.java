package dev.custody.server.admission;

/** An entry the log refuses. The message is shown to the submitter. */
public final class AdmissionException extends Exception {
  public AdmissionException(String message) {
    super(message);
  }
}
