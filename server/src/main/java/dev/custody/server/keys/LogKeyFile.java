package dev.custody.server.keys;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;

/** The log's Ed25519 signing key, as a C2SP private key text file readable by its owner only. */
public final class LogKeyFile {
  private LogKeyFile() {}

  public static Ed25519NoteKeys.Signer read(Path file) throws IOException {
    // A key that others can read is a key that may already be someone else's.
    java.util.Set<java.nio.file.attribute.PosixFilePermission> perms = Files.getPosixFilePermissions(file);
    for (var p : perms) {
      if (p.name().startsWith("GROUP_") || p.name().startsWith("OTHERS_")) {
        throw new IOException("key file " + file + " is readable or writable by others ("
            + PosixFilePermissions.toString(perms) + "); run: chmod 600 " + file);
      }
    }
    String text = Files.readString(file, StandardCharsets.UTF_8);
    try {
      Ed25519NoteKeys.Signer s = Ed25519NoteKeys.parsePrivateKey(text);
      if (s.type() != Ed25519NoteKeys.TYPE) throw new NoteException("a log signs with a type 0x01 key, not a cosigner key");
      return s;
    } catch (NoteException e) {
      // The message names the rule, never the key material.
      throw new IOException("key file " + file + " is not a C2SP Ed25519 private key: " + e.getMessage());
    }
  }

  /** Creates a new key named {@code name}, written atomically with owner-only permissions. */
  public static Ed25519NoteKeys.Signer create(Path file, String name) throws IOException {
    Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate(name, new SecureRandom());
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".log-key", ".tmp", PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rw-------")));
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(StandardCharsets.UTF_8.encode(key.privateKeyText() + "\n"));
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file);
    }
    return key;
  }
}
