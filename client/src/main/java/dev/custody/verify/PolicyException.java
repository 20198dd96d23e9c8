package dev.custody.verify;

/**
 * A trust policy that is malformed, or that does not allow what was presented. {@link
 * OutsideValidity}: the key is allowed there, but was used outside its validity window (a monitor
 * reports that apart from an unexpected signer).
 */
public sealed class PolicyException extends Exception permits PolicyException.OutsideValidity {
  public PolicyException(String message) {
    super(message);
  }

  /** The key is allowed here, but was used outside its validity window. */
  public static final class OutsideValidity extends PolicyException {
    public OutsideValidity(String message) {
      super(message);
    }
  }
}
