package dev.custody.note;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

class SignedNoteTest {
  // The example of C2SP signed-note, "Verifier keys" section.
  private static final String SPEC_VKEY =
      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
  private static final String SPEC_NOTE =
      "This is an example message.\n\n"
          + "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

  @Test
  void specExampleVerifies() throws NoteException {
    Ed25519NoteKeys.Verifier v = Ed25519NoteKeys.parseVerifierKey(SPEC_VKEY);
    assertEquals("example.com/foo", v.name());
    assertEquals(0x530d903a, v.keyId());
    assertEquals(SPEC_VKEY, v.vkey());
    SignedNote n = SignedNote.parse(SPEC_NOTE);
    assertEquals("This is an example message.\n", n.text());
    assertEquals(List.of(v), n.verify(List.of(v)));
    assertEquals(SPEC_NOTE, n.format());
  }

  @Test
  void signFormatParseVerifyRoundTrip() throws NoteException {
    Ed25519NoteKeys.Signer s = Ed25519NoteKeys.generate("custody.example/log", new SecureRandom());
    Ed25519NoteKeys.Signer again = Ed25519NoteKeys.parsePrivateKey(s.privateKeyText());
    assertEquals(s.verifier().vkey(), again.verifier().vkey());
    String note = SignedNote.sign("hello\nworld\n", s).format();
    SignedNote parsed = SignedNote.parse(note.getBytes(StandardCharsets.UTF_8));
    parsed.verify(List.of(Ed25519NoteKeys.parseVerifierKey(s.verifier().vkey())));
    assertEquals(44, s.verifier().subjectPublicKeyInfo().length);
  }

  @Test
  void tamperedTextOrSignatureIsRefused() throws NoteException {
    Ed25519NoteKeys.Signer s = Ed25519NoteKeys.generate("k", new SecureRandom());
    String note = SignedNote.sign("text\n", s).format();
    List<NoteVerifier> trusted = List.of(s.verifier());
    NoteException e =
        assertThrows(
            NoteException.class,
            () -> SignedNote.parse(note.replace("text", "texT")).verify(trusted));
    assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
    Ed25519NoteKeys.Signer other = Ed25519NoteKeys.generate("k", new SecureRandom());
    assertThrows(
        NoteException.class, () -> SignedNote.parse(note).verify(List.of(other.verifier())));
  }

  @Test
  void malformedNotesAreRefused() {
    String[] bad = {
      "no blank line\n\u2014 k AAAAAAA=\n",
      "text\n\n",
      "text\n\n\u2014 k AAAAAA==",
      "text\n\n- k AAAAAAA=\n",
      "text\r\n\n\u2014 k AAAAAAA=\n",
      "text\n\n\u2014 k AAAA\n", // too short for key ID and signature
      "text\n\n\u2014 k AAAAAAA\n", // unpadded
      "text\n\n\u2014 k+x AAAAAAA=\n",
      "text\n\n\u2014  AAAAAAA=\n",
    };
    for (String b : bad) assertThrows(NoteException.class, () -> SignedNote.parse(b), b);
    assertThrows(
        NoteException.class, () -> SignedNote.parse(new byte[] {'a', '\n', '\n', (byte) 0xff}));
  }

  @Test
  void keyTextsAreStrict() {
    String[] badVkeys = {
      "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", // wrong id
      "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", // upper-case hex
      "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", // type byte 0x02
      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", // short
      "example.com/foo+530d903a",
    };
    for (String v : badVkeys)
      assertThrows(NoteException.class, () -> Ed25519NoteKeys.parseVerifierKey(v), v);
    assertThrows(NoteException.class, () -> Ed25519NoteKeys.parsePrivateKey(SPEC_VKEY));
  }

  @Test
  void signatureLimitBoundsWork() {
    StringBuilder b = new StringBuilder("t\n\n");
    for (int i = 0; i <= SignedNote.MAX_SIGNATURES; i++) b.append("\u2014 k AAAAAAA=\n");
    assertThrows(NoteException.class, () -> SignedNote.parse(b.toString()));
  }
}
