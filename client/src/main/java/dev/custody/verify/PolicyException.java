package dev.custody.verify;

/** A trust policy that is malformed, or that does not allow what was presented. */
public final class PolicyException extends Exception {
  private final boolean outsideValidity;

  public PolicyException(String message) {
    this(message, false);
  }

  public PolicyException(String message, boolean outsideValidity) {
    super(message);
    this.outsideValidity = outsideValidity;
  }

  /** The key is allowed here, but was used outside its validity window. */
  public boolean outsideValidity() {
    return outsideValidity;
  }
}
