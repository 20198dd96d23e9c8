package dev.custody.keys;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import org.bouncycastle.crypto.engines.XSalsa20Engine;
import org.bouncycastle.crypto.generators.SCrypt;
import org.bouncycastle.crypto.macs.Poly1305;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.ParametersWithIV;

/**
 * cosign's encrypted private keys (cosign "Signature Specification"): a PEM of type {@code
 * ENCRYPTED SIGSTORE PRIVATE KEY} (or, from older cosign, {@code ENCRYPTED COSIGN PRIVATE KEY})
 * holding the JSON {@code {"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher":
 * {"name": "nacl/secretbox", "nonce"}, "ciphertext"}}: the PKCS#8 key sealed by NaCl secretbox
 * (XSalsa20 and Poly1305) under scrypt(passphrase, salt, N, r, p) of 32 bytes.
 */
public final class CosignKeys {
  private CosignKeys() {}

  public static final String TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY";
  public static final String LEGACY_TYPE = "ENCRYPTED COSIGN PRIVATE KEY";

  /**
   * scrypt's cost is 128·N·r bytes of memory; cosign writes N = 32768. More than this is refused.
   */
  static final int MAX_N = 1 << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The PKCS#8 DER inside a cosign key's PEM body (already base64-decoded).
   *
   * @throws KeyFileException.WrongPassword the passphrase does not open it
   */
  public static byte[] decrypt(byte[] body, char[] password, String what) throws KeyFileException {
    JsonNode n;
    try {
      n = JSON.readTree(body);
    } catch (IOException e) {
      throw new KeyFileException(what + " is not a cosign key (its body is not JSON)");
    }
    if (n == null
        || !"scrypt".equals(n.path("kdf").path("name").asText())
        || !"nacl/secretbox".equals(n.path("cipher").path("name").asText())) {
      throw new KeyFileException(what + ": only cosign's scrypt and nacl/secretbox keys are read");
    }
    JsonNode p = n.path("kdf").path("params");
    int bigN = p.path("N").asInt(0);
    int r = p.path("r").asInt(0);
    int par = p.path("p").asInt(0);
    if (bigN < 2
        || bigN > MAX_N
        || Integer.bitCount(bigN) != 1
        || r < 1
        || r > 32
        || par < 1
        || par > 16) {
      throw new KeyFileException(
          what + ": scrypt parameters N=" + bigN + " r=" + r + " p=" + par + " are out of range");
    }
    byte[] salt = b64(n.path("kdf").path("salt"), what);
    byte[] nonce = b64(n.path("cipher").path("nonce"), what);
    byte[] box = b64(n.path("ciphertext"), what);
    if (nonce.length != 24 || box.length < 16)
      throw new KeyFileException(what + ": the nonce or ciphertext is malformed");
    byte[] key =
        SCrypt.generate(
            new String(password).getBytes(StandardCharsets.UTF_8), salt, bigN, r, par, 32);
    return secretboxOpen(box, nonce, key, what);
  }

  /**
   * NaCl {@code crypto_secretbox_open}: the first 32 bytes of the XSalsa20 key stream are the
   * Poly1305 key; the box is the 16-byte tag over the ciphertext, then the ciphertext.
   */
  static byte[] secretboxOpen(byte[] box, byte[] nonce, byte[] key, String what)
      throws KeyFileException {
    XSalsa20Engine xsalsa = new XSalsa20Engine();
    xsalsa.init(false, new ParametersWithIV(new KeyParameter(key), nonce));
    byte[] polyKey = new byte[32];
    xsalsa.processBytes(new byte[32], 0, 32, polyKey, 0);
    Poly1305 mac = new Poly1305();
    mac.init(new KeyParameter(polyKey));
    mac.update(box, 16, box.length - 16);
    byte[] tag = new byte[16];
    mac.doFinal(tag, 0);
    if (!MessageDigest.isEqual(tag, Arrays.copyOf(box, 16)))
      throw new KeyFileException.WrongPassword(what);
    byte[] plain = new byte[box.length - 16];
    xsalsa.processBytes(box, 16, plain.length, plain, 0);
    return plain;
  }

  private static byte[] b64(JsonNode n, String what) throws KeyFileException {
    try {
      return Base64.getDecoder().decode(n.asText(""));
    } catch (IllegalArgumentException e) {
      throw new KeyFileException(what + ": a field is not base64");
    }
  }
}
