package dev.custody.checkpoint;

import dev.custody.note.NoteException;
import dev.custody.note.NoteVerifier;
import dev.custody.note.SignedNote;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Opens checkpoints of one log: the origin is pinned and one of the log's keys must have signed. A
 * log rotating its key signs each checkpoint with the old and the new key for a while (a C2SP
 * signed note carries several signatures), so a verifier may trust several keys, each within a
 * validity window checked against this verifier's clock: a key past its window no longer opens a
 * checkpoint, even an old one. Other signatures (witnesses, keys not trusted here) are ignored, as
 * C2SP signed-note requires; a signature by a trusted key that does not verify rejects the note.
 * Immutable and safe to share between threads.
 */
public final class CheckpointVerifier {
  /**
   * A key the log signs checkpoints with, trusted from {@code validFrom} (inclusive) until {@code
   * validUntil} (exclusive); an absent bound is open.
   */
  public record LogKey(
      NoteVerifier key, Optional<Instant> validFrom, Optional<Instant> validUntil) {
    public static LogKey always(NoteVerifier key) {
      return new LogKey(key, Optional.empty(), Optional.empty());
    }

    boolean validAt(Instant t) {
      return validFrom.map(f -> !t.isBefore(f)).orElse(true)
          && validUntil.map(t::isBefore).orElse(true);
    }

    String describe() {
      return key.name() + "+" + HexFormat.of().toHexDigits(key.keyId());
    }
  }

  private final String origin;
  private final List<LogKey> keys;
  private final Clock clock;

  /** One key, always valid. */
  public CheckpointVerifier(String origin, NoteVerifier logKey) {
    this(origin, List.of(LogKey.always(logKey)), Clock.systemUTC());
  }

  /** requires at least one key */
  public CheckpointVerifier(String origin, List<LogKey> keys, Clock clock) {
    if (keys.isEmpty()) throw new IllegalArgumentException("a log needs at least one key");
    this.origin = origin;
    this.keys = List.copyOf(keys);
    this.clock = clock;
  }

  public String origin() {
    return origin;
  }

  public List<LogKey> keys() {
    return keys;
  }

  /** The checkpoint, if a key trusted now signed it and its origin is this log's. */
  public Checkpoint verify(String signedNote) throws CheckpointException {
    SignedNote note = parse(signedNote);
    Instant now = clock.instant();
    List<NoteVerifier> valid = keys.stream().filter(k -> k.validAt(now)).map(LogKey::key).toList();
    if (valid.stream().noneMatch(k -> signedBy(note, k))) {
      throw new CheckpointException(
          "checkpoint note has no signature by a log key trusted now" + whySigners(note, now));
    }
    try {
      note.verify(valid);
    } catch (NoteException e) {
      throw new CheckpointException("checkpoint note: " + e.getMessage(), e);
    }
    return checkOrigin(Checkpoint.parse(note.text()));
  }

  /**
   * A checkpoint this verifier accepted and stored itself earlier: its signature was checked then,
   * perhaps by a key that has since been rotated away, so only its form and origin are checked now.
   * Never use this on a note from anywhere else.
   */
  public Checkpoint readOwn(String signedNote) throws CheckpointException {
    return checkOrigin(Checkpoint.parse(parse(signedNote).text()));
  }

  private static SignedNote parse(String signedNote) throws CheckpointException {
    try {
      return SignedNote.parse(signedNote);
    } catch (NoteException e) {
      throw new CheckpointException("checkpoint note: " + e.getMessage(), e);
    }
  }

  private Checkpoint checkOrigin(Checkpoint c) throws CheckpointException {
    if (!c.origin().equals(origin)) {
      throw new CheckpointException(
          "checkpoint is from origin \"" + c.origin() + "\", expected \"" + origin + "\"");
    }
    return c;
  }

  private static boolean signedBy(SignedNote note, NoteVerifier k) {
    return note.signatures().stream()
        .anyMatch(s -> s.keyName().equals(k.name()) && s.keyId() == k.keyId());
  }

  /** Says which keys signed a note none of the keys valid now signed: the reader's next step. */
  private String whySigners(SignedNote note, Instant now) {
    for (LogKey k : keys) {
      if (signedBy(note, k.key()) && !k.validAt(now)) {
        return "; it is signed by log key "
            + k.describe()
            + ", trusted only "
            + k.validFrom().map(f -> "from " + f).orElse("")
            + (k.validFrom().isPresent() && k.validUntil().isPresent() ? " " : "")
            + k.validUntil().map(u -> "until " + u).orElse("")
            + " (now "
            + now
            + ")";
      }
    }
    String signers =
        note.signatures().stream()
            .map(s -> s.keyName() + "+" + HexFormat.of().toHexDigits(s.keyId()))
            .distinct()
            .collect(Collectors.joining(", "));
    String trusted = keys.stream().map(LogKey::describe).collect(Collectors.joining(", "));
    return "; it is signed by "
        + (signers.isEmpty() ? "nobody" : signers)
        + ", and the keys trusted for the log are "
        + trusted
        + " (if the log rotated its key, add its new key to the policy)";
  }
}
