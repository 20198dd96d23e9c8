package dev.custody.server.storage;

/** The store failed to read or write; the log cannot promise anything about this operation. */
public class StorageException extends RuntimeException {
  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }

  public StorageException(String message) {
    super(message);
  }
}
