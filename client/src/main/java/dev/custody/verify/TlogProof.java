package dev.custody.verify;

import dev.custody.io.StrictUtf8;
import dev.custody.merkle.Hashes;
import dev.custody.note.Base64s;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A C2SP tlog-proof ({@code c2sp.org/tlog-proof@v1}, docs/design/formats.md): an entry's index, its
 * inclusion proof and the checkpoint it is against, verbatim with its cosignatures, and optional
 * extra data. Custody puts the entry's leaf bytes in {@code extra}, so that the leaf hash is {@code
 * SHA-256(0x00 ‖ extra)} and the file stands alone. One encoder ({@link #encode}) and one strict
 * parser ({@link #parse}); neither checks a signature or a proof ({@link TlogProofVerifier} does).
 *
 * @param extra the extra data, when the file has an {@code extra} line
 * @param index the entry's zero-based index in the log
 * @param proof the inclusion proof, leaf's sibling first, 32 bytes per hash
 * @param checkpoint the signed checkpoint note, verbatim (ends with a newline)
 */
public record TlogProof(Optional<byte[]> extra, long index, List<byte[]> proof, String checkpoint) {
  public static final String HEADER = "c2sp.org/tlog-proof@v1";

  /** The file extension the spec recommends. */
  public static final String EXTENSION = ".tlog-proof";

  /**
   * A proof of a tree below 2^63 entries has at most 63 hashes; a file with more is refused before
   * any hashing.
   */
  public static final int MAX_PROOF_HASHES = 63;

  /** Larger than any Custody proof (a 64 KiB leaf in base64, a checkpoint of 100 signatures). */
  public static final int MAX_BYTES = 1 << 20;

  public TlogProof {
    if (index < 0) throw new IllegalArgumentException("index must not be negative");
    extra = extra.map(byte[]::clone);
    proof = proof.stream().map(byte[]::clone).toList();
    for (byte[] h : proof)
      if (h.length != Hashes.SIZE) throw new IllegalArgumentException("proof hashes are 32 bytes");
    if (proof.size() > MAX_PROOF_HASHES)
      throw new IllegalArgumentException("more than " + MAX_PROOF_HASHES + " proof hashes");
    if (!checkpoint.endsWith("\n"))
      throw new IllegalArgumentException("a checkpoint note ends with a newline");
  }

  /** Custody's proof of one entry: the leaf as {@code extra}. */
  public static TlogProof ofLeaf(byte[] leaf, long index, List<byte[]> proof, String checkpoint) {
    return new TlogProof(Optional.of(leaf), index, proof, checkpoint);
  }

  @Override
  public Optional<byte[]> extra() {
    return extra.map(byte[]::clone);
  }

  @Override
  public List<byte[]> proof() {
    return proof.stream().map(byte[]::clone).toList();
  }

  /** The file's bytes (UTF-8). */
  public byte[] encode() {
    StringBuilder b = new StringBuilder(HEADER).append('\n');
    extra.ifPresent(e -> b.append("extra ").append(Base64s.encode(e)).append('\n'));
    b.append("index ").append(index).append('\n');
    for (byte[] h : proof) b.append(Base64s.encode(h)).append('\n');
    b.append('\n').append(checkpoint);
    return b.toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Parses a file strictly: the header line, an optional {@code extra} line, the {@code index} line
   * (ASCII decimal, no leading zero), zero or more base64 hashes of 32 bytes, an empty line, then
   * the rest is the checkpoint. Anything else (an unknown line, a non-canonical base64 or number, a
   * missing newline, a carriage return) is refused with the line it is on. The checkpoint's own
   * syntax and signatures are checked by the verifier, which also refuses anything after its
   * signature lines.
   */
  public static TlogProof parse(byte[] file) throws TlogProofException {
    if (file.length > MAX_BYTES)
      throw new TlogProofException("the file is larger than " + MAX_BYTES + " bytes");
    String s =
        StrictUtf8.decode(file)
            .orElseThrow(() -> new TlogProofException("the file is not valid UTF-8"));
    Lines in = new Lines(s);
    String first = in.next();
    if (!HEADER.equals(first))
      throw new TlogProofException(
          "line 1 is not \"" + HEADER + "\": not a tlog-proof, or another version of the format");
    String line = in.next();
    Optional<byte[]> extra = Optional.empty();
    if (line != null && line.startsWith("extra ")) {
      extra =
          Optional.of(
              Base64s.decodeStrict(line.substring("extra ".length()))
                  .orElseThrow(
                      () ->
                          new TlogProofException(
                              "line " + in.number + ": extra is not canonical base64")));
      line = in.next();
    }
    if (line == null || !line.startsWith("index "))
      throw new TlogProofException(
          "line " + in.number + " should be \"index N\" (after the header and any extra line)");
    long index = decimal(line.substring("index ".length()), in.number);
    List<byte[]> proof = new ArrayList<>();
    for (line = in.next(); line != null && !line.isEmpty(); line = in.next()) {
      if (proof.size() == MAX_PROOF_HASHES)
        throw new TlogProofException(
            "more than " + MAX_PROOF_HASHES + " proof hashes (no tree that size)");
      byte[] h =
          Base64s.decodeStrict(line)
              .filter(x -> x.length == Hashes.SIZE)
              .orElseThrow(
                  () ->
                      new TlogProofException(
                          "line "
                              + in.number
                              + " is neither a proof hash (base64 of 32 bytes) nor the empty "
                              + "line before the checkpoint"));
      proof.add(h);
    }
    if (line == null)
      throw new TlogProofException("the file ends before the empty line and the checkpoint");
    String checkpoint = in.rest();
    if (checkpoint.isEmpty()) throw new TlogProofException("the file has no checkpoint");
    if (!checkpoint.endsWith("\n"))
      throw new TlogProofException("the checkpoint does not end with a newline");
    return new TlogProof(extra, index, proof, checkpoint);
  }

  /** A decimal index: no sign, no leading zero (but "0"), at most 2^63-1. */
  private static long decimal(String d, int line) throws TlogProofException {
    boolean digits = !d.isEmpty() && d.chars().allMatch(c -> c >= '0' && c <= '9');
    if (!digits || (d.length() > 1 && d.charAt(0) == '0') || d.length() > 19)
      throw new TlogProofException(
          "line " + line + ": the index is not a decimal number without leading zeros");
    try {
      return Long.parseLong(d);
    } catch (NumberFormatException e) {
      throw new TlogProofException("line " + line + ": the index is larger than 2^63-1");
    }
  }

  /** The lines of the head of the file, each ended by a newline; then the rest verbatim. */
  private static final class Lines {
    private final String s;
    private int at;
    int number;

    Lines(String s) {
      this.s = s;
    }

    /** The next line without its newline; null when no complete line is left. */
    String next() throws TlogProofException {
      int nl = s.indexOf('\n', at);
      if (nl < 0) return null;
      String line = s.substring(at, nl);
      if (line.indexOf('\r') >= 0)
        throw new TlogProofException(
            "line " + (number + 1) + " has a carriage return: lines end with U+000A alone");
      at = nl + 1;
      number++;
      return line;
    }

    String rest() {
      return s.substring(at);
    }
  }
}
