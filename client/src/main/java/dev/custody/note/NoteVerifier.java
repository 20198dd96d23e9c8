package dev.custody.note;

/** A trusted key, identified by name and key ID, that checks signatures over note text. */
public interface NoteVerifier {
  String name();

  int keyId();

  boolean verify(byte[] text, byte[] signature);
}
