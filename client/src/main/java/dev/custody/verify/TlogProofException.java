package dev.custody.verify;

/** A tlog-proof file that is not one: the message says which line and why. */
public final class TlogProofException extends Exception {
  public TlogProofException(String message) {
    super(message);
  }
}
