package dev.custody.note;

/** A note, key or signature that is malformed or does not verify. The message says why. */
public final class NoteException extends Exception {
  public NoteException(String message) {
    super(message);
  }

  public NoteException(String message, Throwable cause) {
    super(message, cause);
  }
}
