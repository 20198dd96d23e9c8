package dev.custody.keys;

import dev.custody.chain.LinkException;
import dev.custody.chain.LinkKeys;
import java.io.IOException;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.crypto.util.ScryptConfig;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfoBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcePKCSPBEInputDecryptorProviderBuilder;
import org.bouncycastle.pkcs.jcajce.JcePKCSPBEOutputEncryptorBuilder;

/**
 * Signing keys in files, in every form a team keeps them: PKCS#8 ({@code PRIVATE KEY}), encrypted
 * PKCS#8 ({@code ENCRYPTED PRIVATE KEY}: PBES2, as {@code custody keygen} writes it with scrypt and
 * AES-256-CBC, and as OpenSSL writes it), and cosign's encrypted keys ({@link CosignKeys}).
 */
public final class KeyFiles {
  private KeyFiles() {}

  /**
   * scrypt's cost for keys we encrypt: N = 2^14, r = 8, p = 2 (16 MiB, ~100 ms per guess): twice
   * the work of what {@code openssl pkcs8 -scrypt} writes (p = 1). Not N = 2^15: at r = 8 that
   * needs 32 MiB, past OpenSSL 3's scrypt memory limit, and OpenSSL then neither reads nor writes
   * the file ("memory limit exceeded", checked on Debian's OpenSSL 3.0). p doubles the work without
   * the memory, and OpenSSL reads it. Files written with p = 1 are still read.
   */
  static final int SCRYPT_N = 1 << 14;

  static final int SCRYPT_P = 2;

  private static final Pattern PEM =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();

  /**
   * The signer in a key file's text.
   *
   * @param what the file's name, for messages and the passphrase prompt
   */
  public static LinkKeys.Signer readSigner(String text, String what, Passwords passwords)
      throws KeyFileException {
    Matcher m = PEM.matcher(text);
    if (!m.find()) throw new KeyFileException(what + " is not a PEM key file");
    String type = m.group(1);
    byte[] body;
    try {
      body = Base64.getMimeDecoder().decode(m.group(2));
    } catch (IllegalArgumentException e) {
      throw new KeyFileException(what + ": the PEM body is not base64");
    }
    byte[] pkcs8 =
        switch (type) {
          case "PRIVATE KEY" -> body;
          case "ENCRYPTED PRIVATE KEY" ->
              decryptPkcs8(body, passwords.password(what, Passwords.CUSTODY_PASSWORD), what);
          case CosignKeys.TYPE, CosignKeys.LEGACY_TYPE ->
              CosignKeys.decrypt(body, passwords.password(what, Passwords.COSIGN_PASSWORD), what);
          case "PUBLIC KEY" ->
              throw new KeyFileException(
                  what + " is a public key; sign with the private key (.key)");
          default ->
              throw new KeyFileException(
                  what
                      + " holds a "
                      + type
                      + "; give a PKCS#8, encrypted PKCS#8 or cosign private key");
        };
    try {
      return LinkKeys.readPrivateKey(pkcs8);
    } catch (LinkException e) {
      throw new KeyFileException(what + ": " + e.getMessage());
    }
  }

  /**
   * {@code signer}'s private key encrypted under {@code password}, as {@link #encrypt(byte[],
   * char[])}.
   */
  public static String encrypt(LinkKeys.Signer signer, char[] password) {
    Matcher m = PEM.matcher(signer.privateKeyPem());
    if (!m.find()) throw new IllegalStateException("a signer's private key PEM did not parse");
    return encrypt(Base64.getMimeDecoder().decode(m.group(2)), password);
  }

  /**
   * {@code pkcs8} encrypted under {@code password} as PEM {@code ENCRYPTED PRIVATE KEY} (PBES2:
   * scrypt, AES-256-CBC).
   */
  public static String encrypt(byte[] pkcs8, char[] password) {
    try {
      var encryptor =
          new JcePKCSPBEOutputEncryptorBuilder(
                  new ScryptConfig.Builder(SCRYPT_N, 8, SCRYPT_P).withSaltLength(16).build(),
                  NISTObjectIdentifiers.id_aes256_CBC)
              .setProvider(BC)
              .build(password);
      byte[] der =
          new PKCS8EncryptedPrivateKeyInfoBuilder(PrivateKeyInfo.getInstance(pkcs8))
              .build(encryptor)
              .getEncoded();
      return "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
          + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
          + "\n-----END ENCRYPTED PRIVATE KEY-----\n";
    } catch (OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot encrypt a key: " + e.getMessage(), e);
    }
  }

  static byte[] decryptPkcs8(byte[] der, char[] password, String what) throws KeyFileException {
    PKCS8EncryptedPrivateKeyInfo info;
    try {
      info = new PKCS8EncryptedPrivateKeyInfo(der);
    } catch (IOException | RuntimeException e) {
      throw new KeyFileException(what + " is not an encrypted PKCS#8 key");
    }
    try {
      return info.decryptPrivateKeyInfo(
              new JcePKCSPBEInputDecryptorProviderBuilder().setProvider(BC).build(password))
          .getEncoded();
    } catch (PKCSException e) {
      throw new KeyFileException.WrongPassword(what);
    } catch (IOException | RuntimeException e) {
      throw new KeyFileException(what + ": cannot decrypt (" + e.getMessage() + ")", e);
    }
  }

  /** Whether a key file's text is encrypted (needs a passphrase). */
  public static boolean isEncrypted(String text) {
    return text.contains("-----BEGIN ENCRYPTED ");
  }
}
