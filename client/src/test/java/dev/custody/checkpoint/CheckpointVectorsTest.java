package dev.custody.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import dev.custody.testing.Vectors;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Checkpoints signed by Go's x/mod sumdb/note, and our verdict on each. */
class CheckpointVectorsTest {
  private static final JsonNode FILE =
      Vectors.json(Vectors.path("oracle-n257", "checkpoints.json"));

  /**
   * Ambiguous cases (the specs allow either verdict) where we decide against x/mod's verdict: 16, a
   * corrupted signature by the log's own key beside a good one: C2SP says SHOULD reject; 34, the
   * origin line differs from the log's origin that the verifier pins: must reject; 35,
   * non-canonical base64 root: we accept exactly one spelling of every value.
   */
  private static final Map<Integer, Boolean> OUR_VERDICT = Map.of(16, false, 34, false, 35, false);

  @TestFactory
  Stream<DynamicTest> everyCase() throws NoteException {
    CheckpointVerifier verifier =
        new CheckpointVerifier(
            FILE.get("origin").asText(),
            Ed25519NoteKeys.parseVerifierKey(FILE.get("verifier_key").asText()));
    return StreamSupport.stream(FILE.get("cases").spliterator(), false)
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.get("id") + " " + c.get("desc").asText(),
                    () -> {
                      int id = c.get("id").asInt();
                      boolean valid = OUR_VERDICT.getOrDefault(id, c.get("valid").asBoolean());
                      if (valid) {
                        Checkpoint cp = verifier.verify(c.get("note").asText());
                        assertEquals(c.get("size").asLong(), cp.size());
                        assertArrayEquals(
                            HexFormat.of().parseHex(c.get("root").asText()), cp.rootHash());
                        assertEquals(c.get("origin").asText(), cp.origin());
                      } else {
                        assertThrows(
                            CheckpointException.class,
                            () -> verifier.verify(c.get("note").asText()));
                      }
                    }));
  }

  @Test
  void ourSignerReproducesTheOraclesNotesByteForByte() throws Exception {
    // Ed25519 is deterministic: the same key over the same text gives the same note as x/mod.
    Ed25519NoteKeys.Signer signer =
        Ed25519NoteKeys.parsePrivateKey(FILE.get("signer_key").asText());
    assertEquals(FILE.get("verifier_key").asText(), signer.verifier().vkey());
    int checked = 0;
    for (JsonNode c : FILE.get("cases")) {
      if (c.get("id").asInt() > 4)
        break; // 0..4 are plain single-signature notes of well-formed checkpoints
      SignedNote theirs = SignedNote.parse(c.get("note").asText());
      Checkpoint cp = Checkpoint.parse(theirs.text());
      assertEquals(theirs.text(), cp.text(), "checkpoint text round trip");
      assertEquals(c.get("note").asText(), SignedNote.sign(cp.text(), signer).format());
      checked++;
    }
    assertEquals(5, checked);
  }

  @Test
  void witnessKeyFromTheVectorsSignsToo() throws Exception {
    // The oracle's witness key is a second, independent key pair for the same check.
    Ed25519NoteKeys.Signer w =
        Ed25519NoteKeys.parsePrivateKey(FILE.get("witness_signer_key").asText());
    assertEquals(FILE.get("witness_verifier_key").asText(), w.verifier().vkey());
    String note = SignedNote.sign("x\n", w).format();
    SignedNote.parse(note)
        .verify(
            List.of(Ed25519NoteKeys.parseVerifierKey(FILE.get("witness_verifier_key").asText())));
  }
}
