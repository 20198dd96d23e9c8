package dev.custody.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.custody.merkle.Hashes;
import dev.custody.note.Base64s;
import java.util.List;
import org.junit.jupiter.api.Test;

class CheckpointTest {
  private static final String ROOT = Base64s.encode(Hashes.emptyRoot());

  @Test
  void roundTrip() throws CheckpointException {
    Checkpoint c =
        new Checkpoint(
            "example.com/log",
            9_223_372_036_854_775_807L,
            Hashes.sha256(new byte[] {1}),
            List.of("ext"));
    Checkpoint back = Checkpoint.parse(c.text());
    assertEquals(c.origin(), back.origin());
    assertEquals(c.size(), back.size());
    assertArrayEquals(c.rootHash(), back.rootHash());
    assertEquals(List.of("ext"), back.extensions());
    assertEquals(
        "example.com/log\n0\n" + ROOT + "\n",
        new Checkpoint("example.com/log", 0, Hashes.emptyRoot()).text());
  }

  @Test
  void strictParsing() {
    String[] bad = {
      "o\n1\n" + ROOT, // no final newline
      "o\n1\n",
      "\n1\n" + ROOT + "\n",
      "o\n01\n" + ROOT + "\n",
      "o\n+1\n" + ROOT + "\n",
      "o\n-1\n" + ROOT + "\n",
      "o\n 1\n" + ROOT + "\n",
      "o\n9223372036854775808\n" + ROOT + "\n", // beyond int64
      "o\n1\n" + ROOT.replace("=", "") + "\n",
      "o\n1\n" + Base64s.encode(new byte[31]) + "\n",
      "o\n1\n" + ROOT + "\n\n",
    };
    for (String b : bad) assertThrows(CheckpointException.class, () -> Checkpoint.parse(b), b);
  }
}
