package dev.custody.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.LinkKeys;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * cosign's encrypted keys, from files made to cosign's specification by an independent
 * implementation (keys/cosign/make.mjs: Node's OpenSSL for the key and scrypt, tweetnacl for
 * secretbox): both PEM types, an empty passphrase, a wrong one; the key is the one cosign.pub
 * names.
 */
class CosignKeysTest {
  static String resource(String name) throws Exception {
    try (InputStream in = CosignKeysTest.class.getResourceAsStream("/keys/cosign/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void cosignKeysOpenWithTheirPassphraseAndAreTheKeyOfCosignPub() throws Exception {
    byte[] pub = LinkKeys.readPublicKeyPem(resource("cosign.pub"));
    for (String file : new String[] {"cosign.key", "cosign-legacy.key"}) {
      LinkKeys.Signer s =
          KeyFiles.readSigner(resource(file), file, Passwords.fixed("correct horse".toCharArray()));
      assertEquals(LinkKeys.Scheme.ECDSA_P256_SHA256, s.scheme());
      assertArrayEquals(pub, s.publicKey(), file);
    }
    LinkKeys.Signer empty =
        KeyFiles.readSigner(
            resource("cosign-empty-password.key"), "e.key", Passwords.fixed(new char[0]));
    assertArrayEquals(pub, empty.publicKey());
    assertThrows(
        KeyFileException.WrongPassword.class,
        () ->
            KeyFiles.readSigner(
                resource("cosign.key"), "cosign.key", Passwords.fixed("wrong".toCharArray())));
    // Asks for COSIGN_PASSWORD, not CUSTODY_PASSWORD.
    assertTrue(
        assertThrows(
                KeyFileException.class,
                () ->
                    KeyFiles.readSigner(
                        resource("cosign.key"),
                        "cosign.key",
                        Passwords.from(Map.of("CUSTODY_PASSWORD", "correct horse"), null)))
            .getMessage()
            .contains("COSIGN_PASSWORD"));
  }

  @Test
  void signaturesAgreeWithOpenSslBothWays() throws Exception {
    PublicKey pub =
        KeyFactory.getInstance("EC")
            .generatePublic(
                new X509EncodedKeySpec(LinkKeys.readPublicKeyPem(resource("cosign.pub"))));
    byte[] message = "custody cosign key test\n".getBytes(StandardCharsets.UTF_8);
    Signature v = Signature.getInstance("SHA256withECDSA");
    v.initVerify(pub);
    v.update(message);
    assertTrue(
        v.verify(Base64.getDecoder().decode(resource("message.sig").strip())),
        "OpenSSL's signature, our key file's public key");
    LinkKeys.Signer s =
        KeyFiles.readSigner(
            resource("cosign.key"), "cosign.key", Passwords.fixed("correct horse".toCharArray()));
    v.initVerify(pub);
    v.update(message);
    assertTrue(v.verify(s.sign(message)), "our signature with the decrypted key");
  }

  @Test
  void secretboxRefusesATamperedBox() throws Exception {
    String pem = resource("cosign.key");
    byte[] body = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").strip());
    String json = new String(body, StandardCharsets.UTF_8);
    int at = json.indexOf("\"ciphertext\":\"") + 14;
    char c = json.charAt(at + 5);
    String tampered = json.substring(0, at + 5) + (c == 'A' ? 'B' : 'A') + json.substring(at + 6);
    assertThrows(
        KeyFileException.WrongPassword.class,
        () ->
            CosignKeys.decrypt(
                tampered.getBytes(StandardCharsets.UTF_8), "correct horse".toCharArray(), "t.key"));
  }
}
