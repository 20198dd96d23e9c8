package dev.custody.note;

import dev.custody.merkle.Hashes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Key name rules and the recommended key ID derivation of C2SP signed-note. */
public final class KeyNames {
  private KeyNames() {}

  /** Non-empty, with no Unicode space and no '+' (the vkey separator). */
  public static boolean isValid(String name) {
    if (name == null || name.isEmpty()) return false;
    for (int i = 0; i < name.length(); ) {
      int cp = name.codePointAt(i);
      if (cp == '+'
          || cp < 0x20
          || cp == 0x7f
          || Character.isWhitespace(cp)
          || Character.isSpaceChar(cp)) {
        return false;
      }
      i += Character.charCount(cp);
    }
    return true;
  }

  /** SHA-256(name || 0x0A || type || public key)[:4], big-endian. */
  public static int keyId(String name, byte type, byte[] publicKey) {
    byte[] n = name.getBytes(StandardCharsets.UTF_8);
    byte[] in =
        ByteBuffer.allocate(n.length + 2 + publicKey.length)
            .put(n)
            .put((byte) '\n')
            .put(type)
            .put(publicKey)
            .array();
    return ByteBuffer.wrap(Hashes.sha256(in)).getInt();
  }
}
