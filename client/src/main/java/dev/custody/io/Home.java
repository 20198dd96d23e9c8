package dev.custody.io;

import java.nio.file.Path;
import java.util.Map;

/**
 * The user's home folder as every other command line finds it: {@code $HOME}, so that {@code
 * HOME=/x custody …} in a CI job reads and writes under /x, as Docker and git do. Java's {@code
 * user.home} (from the password database) only when {@code HOME} is unset or empty.
 */
public final class Home {
  private Home() {}

  public static Path dir() {
    return dir(System.getenv(), System.getProperty("user.home"));
  }

  /** {@link #dir()} for a given environment and {@code user.home}: a pure function. */
  static Path dir(Map<String, String> env, String userHome) {
    String home = env.get("HOME");
    return Path.of(home != null && !home.isBlank() ? home : userHome);
  }
}
