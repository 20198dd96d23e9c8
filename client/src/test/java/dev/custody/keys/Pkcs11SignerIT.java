package dev.custody.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.testing.SoftHsm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keys in a real PKCS#11 token: Debian's SoftHSM 2, a token initialised and Ed25519 and ECDSA P-256
 * key pairs generated in it by OpenSC's pkcs11-tool; links signed there through {@code pkcs11:}
 * URIs and verified by our software verifiers.
 */
class Pkcs11SignerIT {
  static final String MODULE = SoftHsm.MODULE;
  static final String TOKEN = "custody-test";
  static Path conf;

  @BeforeAll
  static void setUp() throws Exception {
    // A second token for the wrong-PIN case: a token another test logged in to takes any PIN.
    conf = SoftHsm.freshTokens(TOKEN, TOKEN + "-2");
  }

  static void run(String... cmd) throws Exception {
    SoftHsm.run(cmd);
  }

  static String uri(String object, String pin) {
    return SoftHsm.uri(TOKEN, object, pin);
  }

  @Test
  void linksSignedInTheTokenVerifyWithOurSoftwareVerifiers() throws Exception {
    for (String label : List.of("ed", "p256")) {
      LinkKeys.Signer s = Signers.open(uri(label, "1234"), Passwords.fixed(new char[0]));
      assertEquals(
          label.equals("ed") ? LinkKeys.Scheme.ED25519 : LinkKeys.Scheme.ECDSA_P256_SHA256,
          s.scheme());
      // OpenSSL (independent of us and of the token) checks a signature the token made, under the
      // public key we read from the token.
      Path d0 = conf.getParent();
      Files.writeString(d0.resolve(label + ".pub.pem"), s.publicKeyPem());
      byte[] message = ("signed in the token by " + label).getBytes(StandardCharsets.UTF_8);
      Files.write(d0.resolve(label + ".msg"), message);
      Files.write(d0.resolve(label + ".sig"), s.sign(message));
      if (label.equals("ed")) {
        run(
            "/usr/bin/openssl",
            "pkeyutl",
            "-verify",
            "-rawin",
            "-pubin",
            "-inkey",
            d0.resolve("ed.pub.pem").toString(),
            "-in",
            d0.resolve("ed.msg").toString(),
            "-sigfile",
            d0.resolve("ed.sig").toString());
      } else {
        run(
            "/usr/bin/openssl",
            "dgst",
            "-sha256",
            "-verify",
            d0.resolve("p256.pub.pem").toString(),
            "-signature",
            d0.resolve("p256.sig").toString(),
            d0.resolve("p256.msg").toString());
      }
      Digest d = Digest.sha256Of(label.getBytes(StandardCharsets.UTF_8));
      List<SignedLink> links = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        links.add(
            SignedLink.sign(
                new Statement(
                    "registry.example/hsm/" + label,
                    d,
                    0,
                    d,
                    d,
                    d,
                    Statement.NO_PREDECESSOR,
                    1_764_288_000_000L + i),
                s));
      }
      for (SignedLink l : links) {
        SignedLink parsed = SignedLink.parse(l.encoded());
        parsed.verifySignature(LinkVerifier.bouncyCastle());
        parsed.verifySignature(LinkVerifier.fastest());
      }
      assertThrows(
          UnsupportedOperationException.class, s::privateKeyPem, "the key stays in the token");
    }
  }

  @Test
  void aWrongPinOrAMissingKeyIsNamed() {
    assertTrue(
        assertThrows(
                KeyFileException.class,
                () ->
                    Signers.open(
                        uri("ed", "0000").replace("token=" + TOKEN + ";", "token=" + TOKEN + "-2;"),
                        Passwords.fixed(new char[0])))
            .getMessage()
            .contains("refused the PIN"));
    assertTrue(
        assertThrows(
                KeyFileException.class,
                () -> Signers.open(uri("nope", "1234"), Passwords.fixed(new char[0])))
            .getMessage()
            .contains("no key labelled \"nope\""));
    assertTrue(
        assertThrows(
                KeyFileException.class,
                () -> Signers.open("pkcs11:token=x;object=y", Passwords.fixed(new char[0])))
            .getMessage()
            .contains("module-path"));
    // No PIN in the URI: from CUSTODY_PKCS11_PIN (here, the fixed source).
    assertTrue(
        assertThrows(
                KeyFileException.class,
                () ->
                    Signers.open(
                        "pkcs11:token=" + TOKEN + ";object=ed?module-path=" + MODULE,
                        Passwords.from(Map.of(), null)))
            .getMessage()
            .contains("CUSTODY_PKCS11_PIN"));
  }
}
