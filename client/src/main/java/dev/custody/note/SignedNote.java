package dev.custody.note;

import dev.custody.io.StrictUtf8;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A C2SP signed note: text ending in a newline, a blank line, then one or more lines {@code — <key
 * name> base64(key ID || signature)}. {@link #parse} checks syntax only; {@link #verify} applies
 * the trust rules.
 */
public record SignedNote(String text, List<Signature> signatures) {
  /** Beyond the spec's minimum of 16, and as many as Go's sumdb/note allows. */
  public static final int MAX_SIGNATURES = 100;

  /** A note is a small thing; this bounds work on hostile input. */
  public static final int MAX_BYTES = 1 << 20;

  private static final String DASH = "\u2014 ";

  public record Signature(String keyName, int keyId, byte[] signature) {
    public Signature {
      signature = signature.clone();
    }

    @Override
    public byte[] signature() {
      return signature.clone();
    }

    String line() {
      byte[] all = ByteBuffer.allocate(4 + signature.length).putInt(keyId).put(signature).array();
      return DASH + keyName + " " + Base64s.encode(all) + "\n";
    }
  }

  public SignedNote {
    signatures = List.copyOf(signatures);
  }

  /** Signs {@code text} (which must end in a newline) with every signer, in order. */
  public static SignedNote sign(String text, NoteSigner... signers) {
    checkText(text);
    byte[] msg = text.getBytes(StandardCharsets.UTF_8);
    List<Signature> sigs = new ArrayList<>();
    for (NoteSigner s : signers) sigs.add(new Signature(s.name(), s.keyId(), s.sign(msg)));
    return new SignedNote(text, sigs);
  }

  /** The note as it travels: text, blank line, signature lines. */
  public String format() {
    StringBuilder b = new StringBuilder(text).append('\n');
    for (Signature s : signatures) b.append(s.line());
    return b.toString();
  }

  /** This note with one more signature line, as a witness would add it. */
  public SignedNote withSignature(Signature s) {
    List<Signature> all = new ArrayList<>(signatures);
    all.add(s);
    return new SignedNote(text, all);
  }

  public static SignedNote parse(byte[] note) throws NoteException {
    if (note.length > MAX_BYTES)
      throw new NoteException("note is larger than " + MAX_BYTES + " bytes");
    String s =
        StrictUtf8.decode(note).orElseThrow(() -> new NoteException("note is not valid UTF-8"));
    return parse(s);
  }

  public static SignedNote parse(String note) throws NoteException {
    if (note.length() > MAX_BYTES)
      throw new NoteException("note is larger than " + MAX_BYTES + " bytes");
    for (int i = 0; i < note.length(); i++) {
      char c = note.charAt(i);
      if (c < 0x20 && c != '\n')
        throw new NoteException("note contains control character U+%04X".formatted((int) c));
      if (Character.isSurrogate(c) && !validSurrogateAt(note, i))
        throw new NoteException("note is not valid UTF-8");
    }
    if (!note.endsWith("\n")) throw new NoteException("note does not end with a newline");
    int split = note.lastIndexOf("\n\n");
    if (split < 0) throw new NoteException("note has no blank line between text and signatures");
    String text = note.substring(0, split + 1);
    String block = note.substring(split + 2);
    if (block.isEmpty()) throw new NoteException("note has no signatures");
    List<Signature> sigs = new ArrayList<>();
    for (String line : block.substring(0, block.length() - 1).split("\n", -1)) {
      if (sigs.size() == MAX_SIGNATURES)
        throw new NoteException("note has more than " + MAX_SIGNATURES + " signatures");
      sigs.add(parseLine(line));
    }
    return new SignedNote(text, sigs);
  }

  private static Signature parseLine(String line) throws NoteException {
    if (!line.startsWith(DASH))
      throw new NoteException("signature line does not start with an em dash and a space");
    String rest = line.substring(DASH.length());
    int sp = rest.indexOf(' ');
    if (sp < 0)
      throw new NoteException("signature line has no space between key name and signature");
    String name = rest.substring(0, sp);
    if (!KeyNames.isValid(name)) throw new NoteException("signature line has an invalid key name");
    Optional<byte[]> sig = Base64s.decodeStrict(rest.substring(sp + 1));
    if (sig.isEmpty()) throw new NoteException("signature is not canonical base64");
    byte[] b = sig.get();
    if (b.length < 5)
      throw new NoteException("signature is too short to hold a key ID and a signature");
    byte[] raw = new byte[b.length - 4];
    System.arraycopy(b, 4, raw, 0, raw.length);
    return new Signature(name, ByteBuffer.wrap(b).getInt(), raw);
  }

  /**
   * Checks the signatures against the trusted keys. Signatures from unknown keys (name and ID not
   * both matching) are ignored. A signature from a known key that fails rejects the whole note:
   * C2SP says SHOULD, and a log that serves a bad signature is a log to distrust, even if x/mod
   * would accept a note with a good signature from the same key elsewhere in it.
   *
   * @return the trusted keys whose signatures verified, at least one
   */
  public List<NoteVerifier> verify(Collection<? extends NoteVerifier> trusted)
      throws NoteException {
    byte[] msg = text.getBytes(StandardCharsets.UTF_8);
    List<NoteVerifier> ok = new ArrayList<>();
    for (Signature s : signatures) {
      for (NoteVerifier v : trusted) {
        if (!v.name().equals(s.keyName()) || v.keyId() != s.keyId()) continue;
        if (!v.verify(msg, s.signature)) {
          throw new NoteException("signature by known key " + s.keyName() + " does not verify");
        }
        if (!ok.contains(v)) ok.add(v);
      }
    }
    if (ok.isEmpty()) throw new NoteException("note has no signature from a trusted key");
    return ok;
  }

  private static void checkText(String text) {
    if (text.isEmpty() || !text.endsWith("\n"))
      throw new IllegalArgumentException("note text must end with a newline");
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20 && c != '\n')
        throw new IllegalArgumentException("note text must not contain control characters");
    }
  }

  private static boolean validSurrogateAt(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c))
      return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
    return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
  }
}
