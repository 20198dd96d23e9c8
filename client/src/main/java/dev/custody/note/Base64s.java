package dev.custody.note;

import java.util.Base64;
import java.util.Optional;

/** Standard base64 (RFC 4648 §4), strictly: padded, and canonical in its unused bits. */
public final class Base64s {
  private Base64s() {}

  public static String encode(byte[] b) {
    return Base64.getEncoder().encodeToString(b);
  }

  /**
   * Decodes only the one spelling that {@link #encode} would produce. Java's decoder accepts
   * missing padding and stray low bits; re-encoding and comparing refuses both.
   */
  public static Optional<byte[]> decodeStrict(String s) {
    byte[] b;
    try {
      b = Base64.getDecoder().decode(s);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    return encode(b).equals(s) ? Optional.of(b) : Optional.empty();
  }
}
