package dev.custody.verify;

/** A trust policy that is malformed, or that does not allow what was presented. */
public final class PolicyException extends Exception {
  public PolicyException(String message) {
    super(message);
  }
}
