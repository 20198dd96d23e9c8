package dev.custody.serving;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** If-None-Match as RFC 9110 compares it: weakly, any tag of a list, or "*". */
class HttpRequestTest {
  private static HttpRequest with(String ifNoneMatch) {
    return new HttpRequest("GET", "/", Map.of(), "", ifNoneMatch, new byte[0], null);
  }

  @Test
  void aHeldTagMatchesInAnyOfItsSpellings() {
    String tag = "\"0a1b\"";
    assertTrue(with(tag).holds(tag));
    assertTrue(with("W/" + tag).holds(tag), "weak comparison");
    assertTrue(with("\"other\", " + tag).holds(tag), "one of a list");
    assertTrue(with("*").holds(tag));
    assertFalse(with("").holds(tag), "no header");
    assertFalse(with("\"other\"").holds(tag));
    assertFalse(with("0a1b").holds(tag), "unquoted is another tag");
    assertFalse(new HttpRequest("GET", "/", Map.of(), "", new byte[0], null).holds(tag));
  }
}
