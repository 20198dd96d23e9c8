package dev.custody.note;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.junit.jupiter.api.Test;

/**
 * C2SP tlog-cosignature, Ed25519 (type 0x04), checked against the spec's formulas written out here.
 */
class CosignatureTest {
  private static final String CHECKPOINT =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

  @Test
  void cosignatureFollowsTheSpec() throws Exception {
    Ed25519NoteKeys.Signer w =
        Ed25519NoteKeys.generate(
            "witness.example/w1", Ed25519NoteKeys.COSIGNATURE, new SecureRandom());
    byte[] sig = w.cosign(CHECKPOINT.getBytes(StandardCharsets.UTF_8), 1_679_315_147L);
    assertEquals(72, sig.length);
    assertEquals(1_679_315_147L, ByteBuffer.wrap(sig).getLong());
    // The signed message and key ID, from the spec's text, verified with Bouncy Castle directly.
    byte[] msg =
        ("cosignature/v1\ntime 1679315147\n" + CHECKPOINT).getBytes(StandardCharsets.UTF_8);
    byte[] pub = w.publicKey();
    Ed25519Signer v = new Ed25519Signer();
    v.init(false, new Ed25519PublicKeyParameters(pub, 0));
    v.update(msg, 0, msg.length);
    assertTrue(v.verifySignature(Arrays.copyOfRange(sig, 8, 72)));
    byte[] idInput =
        ByteBuffer.allocate("witness.example/w1".length() + 2 + 32)
            .put("witness.example/w1".getBytes(StandardCharsets.UTF_8))
            .put((byte) '\n')
            .put((byte) 4)
            .put(pub)
            .array();
    assertEquals(
        ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(idInput)).getInt(), w.keyId());

    Ed25519NoteKeys.Verifier parsed = Ed25519NoteKeys.parseVerifierKey(w.verifier().vkey());
    assertEquals(Ed25519NoteKeys.COSIGNATURE, parsed.type());
    assertTrue(parsed.verify(CHECKPOINT.getBytes(StandardCharsets.UTF_8), sig));
    byte[] otherTime = sig.clone();
    otherTime[7] ^= 1;
    assertFalse(
        parsed.verify(CHECKPOINT.getBytes(StandardCharsets.UTF_8), otherTime),
        "the timestamp is signed");
    assertFalse(
        parsed.verify(
            CHECKPOINT.replace("20852163", "20852164").getBytes(StandardCharsets.UTF_8), sig));
    assertArrayEquals(
        w.privateKeyText().getBytes(),
        Ed25519NoteKeys.parsePrivateKey(w.privateKeyText()).privateKeyText().getBytes());
  }

  @Test
  void aNoteSignatureKeyAndACosignerKeyAreNotInterchangeable() throws Exception {
    byte[] seed = new byte[32];
    Ed25519NoteKeys.Signer log =
        Ed25519NoteKeys.signerFromSeed("same.name/k", Ed25519NoteKeys.TYPE, seed);
    Ed25519NoteKeys.Signer cos =
        Ed25519NoteKeys.signerFromSeed("same.name/k", Ed25519NoteKeys.COSIGNATURE, seed);
    assertTrue(log.keyId() != cos.keyId(), "the type byte separates the key IDs");
    String cosigned = SignedNote.sign(CHECKPOINT, cos).format();
    assertThrows(
        NoteException.class, () -> SignedNote.parse(cosigned).verify(List.of(log.verifier())));
    SignedNote.parse(cosigned).verify(List.of(cos.verifier()));
  }
}
