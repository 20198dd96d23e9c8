package dev.custody.checkpoint;

import dev.custody.merkle.Hashes;
import dev.custody.note.Base64s;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import java.util.List;
import java.util.Optional;

/**
 * The note text of a C2SP tlog-checkpoint: origin, tree size, root hash and optional extension
 * lines. One encoder ({@link #text}) and one strict parser ({@link #parse}).
 */
public record Checkpoint(String origin, long size, byte[] rootHash, List<String> extensions) {
  public Checkpoint {
    if (origin == null || origin.isEmpty() || origin.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("origin must be one non-empty line");
    }
    if (size < 0) throw new IllegalArgumentException("tree size must not be negative");
    if (rootHash == null || rootHash.length != Hashes.SIZE)
      throw new IllegalArgumentException("root hash must be 32 bytes");
    rootHash = rootHash.clone();
    extensions = List.copyOf(extensions);
    for (String e : extensions) {
      if (e.isEmpty() || e.indexOf('\n') >= 0)
        throw new IllegalArgumentException("extension lines must be non-empty lines");
    }
  }

  public Checkpoint(String origin, long size, byte[] rootHash) {
    this(origin, size, rootHash, List.of());
  }

  @Override
  public byte[] rootHash() {
    return rootHash.clone();
  }

  /** The note text that the log signs. */
  public String text() {
    StringBuilder b =
        new StringBuilder()
            .append(origin)
            .append('\n')
            .append(size)
            .append('\n')
            .append(Base64s.encode(rootHash))
            .append('\n');
    for (String e : extensions) b.append(e).append('\n');
    return b.toString();
  }

  /**
   * The checkpoint a signed note carries, its signatures not checked: for a note whose signature
   * was checked before (the log's own store, a sink it wrote). Anything else goes through {@link
   * CheckpointVerifier}.
   */
  public static Checkpoint ofNote(String signedNote) throws CheckpointException {
    try {
      return parse(SignedNote.parse(signedNote).text());
    } catch (NoteException e) {
      throw new CheckpointException("checkpoint note: " + e.getMessage(), e);
    }
  }

  public static Checkpoint parse(String text) throws CheckpointException {
    if (!text.endsWith("\n"))
      throw new CheckpointException("checkpoint text does not end with a newline");
    String[] lines = text.substring(0, text.length() - 1).split("\n", -1);
    if (lines.length < 3)
      throw new CheckpointException("checkpoint needs origin, tree size and root hash lines");
    if (lines[0].isEmpty()) throw new CheckpointException("checkpoint origin is empty");
    long size = parseSize(lines[1]);
    Optional<byte[]> root = Base64s.decodeStrict(lines[2]);
    if (root.isEmpty())
      throw new CheckpointException("checkpoint root hash is not canonical standard base64");
    if (root.get().length != Hashes.SIZE) {
      throw new CheckpointException(
          "checkpoint root hash is " + root.get().length + " bytes, not 32");
    }
    List<String> ext = List.of(lines).subList(3, lines.length);
    for (String e : ext)
      if (e.isEmpty()) throw new CheckpointException("checkpoint has an empty extension line");
    return new Checkpoint(lines[0], size, root.get(), ext);
  }

  /** ASCII decimal with no sign, no spaces and no leading zero (except "0"); must fit in int64. */
  private static long parseSize(String s) throws CheckpointException {
    if (!s.matches("0|[1-9][0-9]{0,18}"))
      throw new CheckpointException("checkpoint tree size is not a canonical decimal number");
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new CheckpointException("checkpoint tree size is too large");
    }
  }
}
