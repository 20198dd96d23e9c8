package dev.custody.note;

/** A key that signs note text (C2SP signed-note). */
public interface NoteSigner {
  String name();

  int keyId();

  byte[] sign(byte[] text);
}
