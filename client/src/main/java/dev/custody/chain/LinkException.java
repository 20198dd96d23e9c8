package dev.custody.chain;

/**
 * A link (or statement, leaf, key) that is malformed or breaks a rule. The message names the rule.
 */
public final class LinkException extends Exception {
  public LinkException(String message) {
    super(message);
  }

  public LinkException(String message, Throwable cause) {
    super(message, cause);
  }
}
