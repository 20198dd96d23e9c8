package dev.custody.witness;

import dev.custody.merkle.Hashes;
import dev.custody.note.Base64s;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * The body of a C2SP tlog-witness {@code add-checkpoint} request: {@code old <size>}, the
 * consistency proof from that size, one base64 hash per line, an empty line, then the signed
 * checkpoint note. The one encoder (the log asking its witnesses) and the one parser (the witness).
 *
 * @param note the signed checkpoint note, verbatim (its signatures are the witness's business)
 */
public record AddCheckpoint(long oldSize, List<byte[]> proof, String note) {
  /** The spec's bound on proof lines. */
  public static final int MAX_PROOF_LINES = 63;

  private static final Pattern OLD = Pattern.compile("old (0|[1-9][0-9]{0,18})");
  private static final Pattern SIZE = Pattern.compile("(0|[1-9][0-9]{0,18})\n");

  public AddCheckpoint {
    if (oldSize < 0) throw new IllegalArgumentException("old size < 0");
    if (proof.size() > MAX_PROOF_LINES)
      throw new IllegalArgumentException("more than " + MAX_PROOF_LINES + " proof lines");
    proof = List.copyOf(proof);
  }

  /** A request that is not one: what the witness answers 400 with. */
  public static final class Malformed extends Exception {
    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  public byte[] encode() {
    StringBuilder b = new StringBuilder("old ").append(oldSize).append('\n');
    for (byte[] h : proof) b.append(Base64s.encode(h)).append('\n');
    return b.append('\n').append(note).toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Parses a request body; the note is returned as text, for the caller to parse and verify. */
  public static AddCheckpoint parse(byte[] body) throws Malformed {
    String s = new String(body, StandardCharsets.UTF_8);
    int oldEnd = s.indexOf('\n');
    if (oldEnd < 0 || !OLD.matcher(s.substring(0, oldEnd)).matches())
      throw new Malformed("the first line must be: old <size>");
    long oldSize;
    try {
      oldSize = Long.parseLong(s.substring(4, oldEnd));
    } catch (NumberFormatException e) {
      throw new Malformed("old size out of range");
    }
    List<byte[]> proof = new ArrayList<>();
    int pos = oldEnd + 1;
    while (true) {
      int nl = s.indexOf('\n', pos);
      if (nl < 0) throw new Malformed("no empty line before the checkpoint");
      String line = s.substring(pos, nl);
      pos = nl + 1;
      if (line.isEmpty()) break;
      if (proof.size() == MAX_PROOF_LINES)
        throw new Malformed("more than " + MAX_PROOF_LINES + " consistency proof lines");
      Optional<byte[]> h = Base64s.decodeStrict(line);
      if (h.isEmpty() || h.get().length != Hashes.SIZE)
        throw new Malformed("a proof line is not a base64 hash");
      proof.add(h.get());
    }
    return new AddCheckpoint(oldSize, proof, s.substring(pos));
  }

  /** The witness's 409 answer: the size of the checkpoint it holds, one decimal line. */
  public static String conflict(long size) {
    return size + "\n";
  }

  /** The size in a 409 answer, or empty when the body is not one. */
  public static OptionalLong parseConflict(String body) {
    if (!SIZE.matcher(body).matches()) return OptionalLong.empty();
    try {
      return OptionalLong.of(Long.parseLong(body.strip()));
    } catch (NumberFormatException e) {
      return OptionalLong.empty(); // 19 digits past Long.MAX_VALUE
    }
  }
}
