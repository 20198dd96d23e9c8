package dev.custody.io;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * UTF-8 decoding that refuses what is not UTF-8 (Java's {@code new String(bytes, UTF_8)} quietly
 * puts U+FFFD in its place): for signed and hashed text, where a replaced byte would be a different
 * text.
 */
public final class StrictUtf8 {
  private StrictUtf8() {}

  /** The text these bytes encode, or empty when they are not well-formed UTF-8. */
  public static Optional<String> decode(byte[] b) {
    try {
      return Optional.of(
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(b))
              .toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }
}
