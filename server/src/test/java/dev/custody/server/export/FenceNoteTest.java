package dev.custody.server.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import dev.custody.server.sequencer.Integrator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The export fence acts only on a checkpoint the log signed: whoever can PUT one object into the
 * bucket (an unsigned note, or one signed by another key) cannot stop every node from leading.
 */
class FenceNoteTest {
  @TempDir Path dir;

  @Test
  void onlyACheckpointSignedByThisLogFencesALeader() throws Exception {
    String origin = "t/log";
    Ed25519NoteKeys.Signer key = Ed25519NoteKeys.generate(origin, new SecureRandom());
    Integrator log = new Integrator(origin, List.of(key));
    SignedCheckpoint head = log.sign(0, Hashes.emptyRoot()); // this node holds an empty tree
    String ahead = new Checkpoint(origin, 1_000, new byte[32]).text();
    FolderSink sink = new FolderSink(dir);
    Exporter e =
        Exporter.start(sink, null, null, () -> null, () -> false, log::signedByThisLog, 60_000);
    try {
      // Signed by another key of the same name: ignored.
      Ed25519NoteKeys.Signer stranger = Ed25519NoteKeys.generate(origin, new SecureRandom());
      sink.putCheckpoint(
          SignedNote.sign(ahead, stranger).format().getBytes(StandardCharsets.UTF_8),
          Optional.empty());
      assertEquals(Optional.empty(), e.objection(head));
      // Signed by the log: a real checkpoint ahead of this node, which must not lead.
      FolderSink real = new FolderSink(dir.resolve("real"));
      real.putCheckpoint(
          SignedNote.sign(ahead, key).format().getBytes(StandardCharsets.UTF_8), Optional.empty());
      Exporter r =
          Exporter.start(real, null, null, () -> null, () -> false, log::signedByThisLog, 60_000);
      try {
        assertTrue(r.objection(head).orElseThrow().contains("ahead of this node's store"));
      } finally {
        r.close();
      }
    } finally {
      e.close();
    }
  }
}
