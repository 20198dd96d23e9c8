package dev.custody.merkle;

/** A proof, a tree size or an index that does not check out. The message says which rule failed. */
public final class ProofException extends Exception {
  public ProofException(String message) {
    super(message);
  }
}
