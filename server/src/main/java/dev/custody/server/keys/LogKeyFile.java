package dev.custody.server.keys;

import dev.custody.io.DurableFiles;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;

/** The log's Ed25519 signing key, as a C2SP private key text file readable by its owner only. */
public final class LogKeyFile {
  private LogKeyFile() {}

  public static Ed25519NoteKeys.Signer read(Path file) throws IOException {
    // A key that others can read is a key that may already be someone else's.
    String text = DurableFiles.readPrivate(file);
    try {
      Ed25519NoteKeys.Signer s = Ed25519NoteKeys.parsePrivateKey(text);
      if (s.type() != Ed25519NoteKeys.TYPE)
        throw new NoteException("a log signs with a type 0x01 key, not a cosigner key");
      return s;
    } catch (NoteException e) {
      // The message names the rule, never the key material.
      throw new IOException(
          "key file " + file + " is not a C2SP Ed25519 private key: " + e.getMessage());
    }
  }

  /** Creates a new key named {@code name}, written atomically with owner-only permissions. */
  public static Ed25519NoteKeys.Signer create(Path file, String name) throws IOException {
    Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate(name, new SecureRandom());
    DurableFiles.createNew(
        file, (key.privateKeyText() + "\n").getBytes(StandardCharsets.UTF_8), DurableFiles.PRIVATE);
    return key;
  }
}
