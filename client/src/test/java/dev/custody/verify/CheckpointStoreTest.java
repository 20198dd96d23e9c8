package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a verifier remembers per origin: a second root for a size the trusted log signed is a fork;
 * a root from a key the policy does not list for the log is another log that uses the same origin
 * (a log started afresh, a second local log), and the message says which.
 */
class CheckpointStoreTest {
  private static final String ORIGIN = "host.example/custody";
  @TempDir Path dir;

  private static String note(Ed25519NoteKeys.Signer key, long size, int rootByte) {
    byte[] root = new byte[32];
    root[0] = (byte) rootByte;
    return SignedNote.sign(new Checkpoint(ORIGIN, size, root).text(), key).format();
  }

  private static void accept(CheckpointStore store, CheckpointVerifier log, String note)
      throws Exception {
    store.accept(log, log.verify(note), note, null);
  }

  @Test
  void anotherLogWithTheSameOriginIsNotCalledAFork() throws Exception {
    Ed25519NoteKeys.Signer first = Ed25519NoteKeys.generate(ORIGIN, new SecureRandom());
    Ed25519NoteKeys.Signer second = Ed25519NoteKeys.generate(ORIGIN, new SecureRandom());
    CheckpointVerifier firstLog = new CheckpointVerifier(ORIGIN, first.verifier());
    CheckpointVerifier secondLog = new CheckpointVerifier(ORIGIN, second.verifier());
    CheckpointStore store = new CheckpointStore(dir);
    accept(store, firstLog, note(first, 3, 1));

    CheckpointException other =
        assertThrows(CheckpointException.class, () -> accept(store, secondLog, note(second, 3, 2)));
    assertTrue(
        other.getMessage().contains("another log with the same origin")
            && other.getMessage().contains("not from a fork")
            && other.getMessage().contains("delete that file"),
        other.getMessage());

    CheckpointException fork =
        assertThrows(CheckpointException.class, () -> accept(store, firstLog, note(first, 3, 2)));
    assertTrue(fork.getMessage().contains("it forked"), fork.getMessage());
    assertEquals(3, store.stored(firstLog).orElseThrow().size(), "nothing refused is stored");
  }
}
