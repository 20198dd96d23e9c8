package dev.custody.verify;

/**
 * Text from a party we do not trust (a bundle, a log, a layout), made safe for one line of a
 * terminal or a log: every control character, and every character that could pass for a line break,
 * is written as an escape, so that such text can neither start a line of its own (a forged
 * "VERIFIED:") nor move the cursor.
 */
public final class Printable {
  private Printable() {}

  public static String of(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints()
        .forEach(
            c -> {
              if (c == '\\') {
                b.append("\\\\");
              } else if (c < 0x20
                  || c == 0x7f
                  || (c >= 0x80 && c < 0xa0)
                  || c == 0x2028
                  || c == 0x2029
                  || Character.getType(c) == Character.FORMAT) {
                b.append(c <= 0xff ? String.format("\\x%02x", c) : String.format("\\u%04x", c));
              } else {
                b.appendCodePoint(c);
              }
            });
    return b.toString();
  }
}
