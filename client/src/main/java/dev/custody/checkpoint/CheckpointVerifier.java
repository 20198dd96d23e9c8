package dev.custody.checkpoint;

import dev.custody.note.NoteException;
import dev.custody.note.NoteVerifier;
import dev.custody.note.SignedNote;
import java.util.List;

/**
 * Opens checkpoints of one log: the origin is pinned and the log's key must have signed.
 * Other signatures (witnesses, rotated keys) are ignored here, as C2SP signed-note requires.
 */
public final class CheckpointVerifier {
  private final String origin;
  private final NoteVerifier logKey;

  public CheckpointVerifier(String origin, NoteVerifier logKey) {
    this.origin = origin;
    this.logKey = logKey;
  }

  public String origin() {
    return origin;
  }

  public Checkpoint verify(String signedNote) throws CheckpointException {
    SignedNote note;
    try {
      note = SignedNote.parse(signedNote);
      note.verify(List.of(logKey));
    } catch (NoteException e) {
      throw new CheckpointException("checkpoint note: " + e.getMessage(), e);
    }
    Checkpoint c = Checkpoint.parse(note.text());
    if (!c.origin().equals(origin)) {
      throw new CheckpointException("checkpoint is from origin \"" + c.origin() + "\", expected \"" + origin + "\"");
    }
    return c;
  }
}
