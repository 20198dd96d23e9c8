package dev.custody.server.keys;

import java.io.IOException;

/** The log's keys as given cannot sign this log: a person must fix the keys or the flags. */
public final class LogKeyException extends IOException {
  public LogKeyException(String message) {
    super(message);
  }
}
