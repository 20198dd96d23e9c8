package dev.custody.keys;

import java.io.Console;
import java.util.Map;

/**
 * Where a key file's passphrase comes from. {@link #standard} reads an environment variable (for
 * CI) and otherwise asks on the terminal without echo; with neither, it says how to give one.
 */
@FunctionalInterface
public interface Passwords {
  /**
   * The passphrase for {@code what} (a file name, for the prompt).
   *
   * @param variable the environment variable that may hold it: {@code CUSTODY_PASSWORD}, or {@code
   *     COSIGN_PASSWORD} for a cosign key
   * @throws KeyFileException when there is no way to get one
   */
  char[] password(String what, String variable) throws KeyFileException;

  String CUSTODY_PASSWORD = "CUSTODY_PASSWORD";
  String COSIGN_PASSWORD = "COSIGN_PASSWORD";

  /** The environment first, then the terminal. */
  static Passwords standard() {
    return from(System.getenv(), System.console());
  }

  /** {@link #standard} over an explicit environment and terminal (null: none), for tests. */
  static Passwords from(Map<String, String> env, Console console) {
    return (what, variable) -> {
      String v = env.get(variable);
      if (v != null) return v.toCharArray();
      if (console != null) {
        char[] p = console.readPassword("Passphrase for %s: ", what);
        if (p != null) return p;
      }
      throw new KeyFileException(
          what
              + " is encrypted: set "
              + variable
              + " to its passphrase, or run in a terminal "
              + "to be asked for it");
    };
  }

  /** The same passphrase for every key, e.g. one read once for keygen. */
  static Passwords fixed(char[] password) {
    return (what, variable) -> password.clone();
  }
}
