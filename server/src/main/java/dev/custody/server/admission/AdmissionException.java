package dev.custody.server.admission;

/**
 * An entry the log refuses. The message is shown to the submitter; the type says what the submitter
 * can do about it (and so which status it gets, see {@code api.Statuses}).
 */
public abstract sealed class AdmissionException extends Exception {
  private AdmissionException(String message) {
    super(message);
  }

  /** The entry cannot be read: empty, too large, or not in the entry format. Fix the entry. */
  public static final class Malformed extends AdmissionException {
    public Malformed(String message) {
      super(message);
    }
  }

  /**
   * The entry reads, but breaks a rule: its signature, its statement, or how it stands on the link
   * below.
   */
  public static final class RuleViolation extends AdmissionException {
    public RuleViolation(String message) {
      super(message);
    }
  }

  /** The entry may be fine, but the link below it is not in the log yet: submit that one first. */
  public static final class MissingPredecessor extends AdmissionException {
    public MissingPredecessor(String message) {
      super(message);
    }
  }
}
