package dev.custody.keys;

/** A key file or key URI that cannot be used, with the reason a person can act on. */
public class KeyFileException extends Exception {
  public KeyFileException(String message) {
    super(message);
  }

  public KeyFileException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The passphrase did not open the key (or the file is damaged: the two cannot be told apart). */
  public static final class WrongPassword extends KeyFileException {
    public WrongPassword(String what) {
      super("the passphrase does not open " + what + " (wrong passphrase, or a damaged key file)");
    }
  }
}
