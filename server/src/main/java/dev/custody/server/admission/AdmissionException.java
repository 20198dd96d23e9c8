package dev.custody.server.admission;

/** An entry the log refuses. The message is shown to the submitter. */
public final class AdmissionException extends Exception {
  private final boolean missingPrerequisite;

  public AdmissionException(String message) {
    this(message, false);
  }

  /** @param missingPrerequisite the entry may be fine, but something it needs is not in the log yet */
  public AdmissionException(String message, boolean missingPrerequisite) {
    super(message);
    this.missingPrerequisite = missingPrerequisite;
  }

  public boolean missingPrerequisite() {
    return missingPrerequisite;
  }
}
