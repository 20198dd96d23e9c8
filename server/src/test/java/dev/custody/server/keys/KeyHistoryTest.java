package dev.custody.server.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The rules of rotation, one start at a time. */
class KeyHistoryTest {
  static final String A = "t/log+0000000a+AQ-a";
  static final String B = "t/log+0000000b+AQ-b";
  static final String C = "t/log+0000000c+AQ-c";

  private static String refused(
      KeyHistory h, String key, Optional<String> next, List<String> retire) {
    return assertThrows(LogKeyException.class, () -> h.admit(key, next, retire, 99)).getMessage();
  }

  @Test
  void aRotationGoesKeyThenOverlapThenRetirement() throws Exception {
    KeyHistory created = KeyHistory.EMPTY.admit(A, Optional.empty(), List.of(), 10);
    assertEquals(List.of(new KeyHistory.Key(A, 10, OptionalLong.empty())), created.keys());
    assertEquals(
        created,
        created.admit(A, Optional.empty(), List.of(), 20),
        "a plain restart changes nothing");

    KeyHistory overlap = created.admit(A, Optional.of(B), List.of(), 30);
    assertEquals(
        List.of(
            new KeyHistory.Key(A, 10, OptionalLong.empty()),
            new KeyHistory.Key(B, 30, OptionalLong.empty())),
        overlap.keys());
    assertEquals(
        overlap,
        overlap.admit(B, Optional.of(A), List.of(), 35),
        "either may come first while both sign");

    KeyHistory done = overlap.admit(B, Optional.empty(), List.of(A), 40);
    assertEquals(
        List.of(
            new KeyHistory.Key(A, 10, OptionalLong.of(40)),
            new KeyHistory.Key(B, 30, OptionalLong.empty())),
        done.keys());
    assertEquals(
        done,
        done.admit(B, Optional.empty(), List.of(A), 50),
        "retiring again keeps the first time");
    assertEquals(done, KeyHistory.decode(done.encode()));
    // The next rotation, from B to C.
    assertEquals(3, done.admit(B, Optional.of(C), List.of(), 60).keys().size());
  }

  @Test
  void everyOtherStartIsRefusedWithTheReason() throws Exception {
    KeyHistory one = KeyHistory.EMPTY.admit(A, Optional.empty(), List.of(), 10);
    KeyHistory overlap = one.admit(A, Optional.of(B), List.of(), 30);
    KeyHistory done = overlap.admit(B, Optional.empty(), List.of(A), 40);

    assertTrue(
        refused(one, C, Optional.empty(), List.of()).contains("--next-key-file"),
        "a new key only joins as next");
    assertTrue(
        refused(overlap, A, Optional.empty(), List.of()).contains(B + " is not given"),
        "a forgotten next key");
    assertTrue(
        refused(overlap, B, Optional.empty(), List.of()).contains(A + " is not given"),
        "B without retiring A");
    assertTrue(
        refused(done, A, Optional.empty(), List.of())
            .contains("was retired at 1970-01-01T00:00:00.040Z"));
    assertTrue(
        refused(done, B, Optional.of(A), List.of()).contains("was retired"), "nor as the next key");
    assertTrue(
        refused(overlap, B, Optional.empty(), List.of(C)).contains("is not a key of this log"));
    assertTrue(
        refused(overlap, A, Optional.of(B), List.of(B))
            .contains("both given to sign and to retire"));
    assertTrue(
        refused(one, A, Optional.of(A), List.of())
            .contains("the next key is the log's key itself"));
    assertTrue(
        refused(KeyHistory.EMPTY, A, Optional.empty(), List.of(B))
            .contains("a new log has no key to retire"));
    assertThrows(LogKeyException.class, () -> KeyHistory.decode(A + " ten -\n"));
  }

  @Test
  void aLogFromBeforeRotationHasItsOneKey() throws Exception {
    KeyHistory legacy = KeyHistory.legacy(A);
    assertEquals(List.of(new KeyHistory.Key(A, 0, OptionalLong.empty())), legacy.keys());
    assertEquals(2, legacy.admit(A, Optional.of(B), List.of(), 5).keys().size());
  }
}
