package dev.custody.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.LinkKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encrypted PKCS#8 key files, checked against an independent implementation both ways: OpenSSL
 * encrypts (scrypt, and PBKDF2) and we read; we encrypt and OpenSSL reads.
 */
class KeyFilesTest {
  static final String OPENSSL = "/usr/bin/openssl";
  @TempDir Path dir;

  static String run(Path dir, String... cmd) throws Exception {
    if (!Files.isExecutable(Path.of(OPENSSL)))
      throw new IllegalStateException(OPENSSL + " is missing (apt-get install -y openssl)");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", cmd) + ":\n" + out);
    return out;
  }

  static byte[] pemBody(String pem) {
    return Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").strip());
  }

  @Test
  void whatWeEncryptOpensWithThePassphraseOnlyAndOpenSslReadsIt() throws Exception {
    for (LinkKeys.Scheme scheme : LinkKeys.Scheme.values()) {
      LinkKeys.Signer s = LinkKeys.generate(scheme);
      String enc = KeyFiles.encrypt(s, "correct horse".toCharArray());
      assertTrue(
          enc.startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----") && KeyFiles.isEncrypted(enc));
      LinkKeys.Signer back =
          KeyFiles.readSigner(enc, "k.key", Passwords.fixed("correct horse".toCharArray()));
      assertArrayEquals(s.publicKey(), back.publicKey());
      assertThrows(
          KeyFileException.WrongPassword.class,
          () -> KeyFiles.readSigner(enc, "k.key", Passwords.fixed("battery staple".toCharArray())));

      Files.writeString(dir.resolve("ours.pem"), enc);
      run(
          dir,
          OPENSSL,
          "pkey",
          "-in",
          "ours.pem",
          "-passin",
          "pass:correct horse",
          "-pubout",
          "-outform",
          "DER",
          "-out",
          "pub.der");
      assertArrayEquals(
          s.publicKey(),
          Files.readAllBytes(dir.resolve("pub.der")),
          scheme + ": OpenSSL opens our file");
      // scrypt N = 2^14, r = 8, p = 2, as OpenSSL parses the file's parameters.
      String asn1 = run(dir, OPENSSL, "asn1parse", "-in", "ours.pem");
      List<String> ints =
          asn1.lines()
              .filter(l -> l.contains("INTEGER"))
              .map(l -> l.substring(l.lastIndexOf(':') + 1).strip())
              .toList();
      assertTrue(
          Collections.indexOfSubList(ints, List.of("4000", "08", "02")) >= 0,
          "scrypt parameters: " + ints);
    }
  }

  @Test
  void openSslEncryptedKeysOpen() throws Exception {
    for (List<String> gen :
        List.of(
            List.of("-algorithm", "ed25519"),
            List.of("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"))) {
      for (List<String> kdf : List.of(List.of("-scrypt"), List.of("-v2prf", "hmacWithSHA256"))) {
        List<String> g = new ArrayList<>(List.of(OPENSSL, "genpkey"));
        g.addAll(gen);
        g.addAll(List.of("-out", "plain.pem"));
        run(dir, g.toArray(String[]::new));
        List<String> e = new ArrayList<>(List.of(OPENSSL, "pkcs8", "-topk8", "-v2", "aes-256-cbc"));
        e.addAll(kdf);
        e.addAll(List.of("-in", "plain.pem", "-out", "enc.pem", "-passout", "pass:s3cret"));
        run(dir, e.toArray(String[]::new));
        run(
            dir,
            OPENSSL,
            "pkey",
            "-in",
            "plain.pem",
            "-pubout",
            "-outform",
            "DER",
            "-out",
            "pub.der");
        LinkKeys.Signer s =
            KeyFiles.readSigner(
                Files.readString(dir.resolve("enc.pem")),
                "enc.pem",
                Passwords.fixed("s3cret".toCharArray()));
        assertArrayEquals(
            Files.readAllBytes(dir.resolve("pub.der")), s.publicKey(), gen + " " + kdf);
      }
    }
  }

  @Test
  void aPassphraseComesFromTheEnvironmentOrTheTerminalOrTheMessageSaysHow() throws Exception {
    Passwords env = Passwords.from(Map.of("CUSTODY_PASSWORD", "from-env"), null);
    assertEquals("from-env", new String(env.password("k.key", Passwords.CUSTODY_PASSWORD)));
    KeyFileException none =
        assertThrows(
            KeyFileException.class,
            () -> Passwords.from(Map.of(), null).password("team.key", Passwords.COSIGN_PASSWORD));
    assertTrue(none.getMessage().contains("set COSIGN_PASSWORD"), none.getMessage());
  }

  @Test
  void theSeamOpensFilesByPathOrFileUriAndNamesWhatItCannotOpen() throws Exception {
    LinkKeys.Signer s = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    Path key = dir.resolve("team.key");
    Files.writeString(key, KeyFiles.encrypt(pemBody(s.privateKeyPem()), "pw".toCharArray()));
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    Passwords pw = Passwords.fixed("pw".toCharArray());
    assertArrayEquals(s.publicKey(), Signers.open(key.toString(), pw).publicKey());
    assertArrayEquals(s.publicKey(), Signers.open(key.toUri().toString(), pw).publicKey());
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    assertTrue(
        assertThrows(KeyFileException.class, () -> Signers.open(key.toString(), pw))
            .getMessage()
            .contains("chmod 600"));
    assertTrue(
        assertThrows(KeyFileException.class, () -> Signers.open("awskms:///alias/team", pw))
            .getMessage()
            .contains("SignerProvider"));
    Files.writeString(dir.resolve("pub.key"), s.publicKeyPem());
    Files.setPosixFilePermissions(
        dir.resolve("pub.key"), PosixFilePermissions.fromString("rw-------"));
    assertTrue(
        assertThrows(
                KeyFileException.class, () -> Signers.open(dir.resolve("pub.key").toString(), pw))
            .getMessage()
            .contains("public key"));
  }
}
