package dev.custody.chain;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.DSADigestSigner;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.crypto.util.SubjectPublicKeyInfoFactory;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;

/**
 * Signers' keys for links: TLS signature schemes Ed25519 (0x0807) and ECDSA P-256 with SHA-256
 * (0x0403), public keys as SubjectPublicKeyInfo DER, private keys as PKCS#8 PEM. Bouncy Castle's
 * lightweight API, which verifies several times faster here than the JDK's providers.
 */
public final class LinkKeys {
  private LinkKeys() {}

  private static final byte[] ED25519_SPKI_PREFIX =
      HexFormat.of().parseHex("302a300506032b6570032100");

  public enum Scheme {
    ED25519(0x0807, "ed25519"),
    ECDSA_P256_SHA256(0x0403, "ecdsa-p256");

    private final int code;
    private final String label;

    Scheme(int code, String label) {
      this.code = code;
      this.label = label;
    }

    public int code() {
      return code;
    }

    public String label() {
      return label;
    }

    public static Scheme of(int code) throws LinkException {
      for (Scheme s : values()) if (s.code == code) return s;
      throw new LinkException("unknown signature scheme 0x%04x".formatted(code));
    }

    /**
     * Refuses a public key that is not a well-formed SPKI of this scheme's key type: for ECDSA a
     * point on P-256; for Ed25519 the right prefix and a canonical point not of small order
     * (decompressing the point costs a tenth of a check, so the verifier does it, once).
     */
    public void checkKey(byte[] spki) throws LinkException {
      switch (this) {
        case ED25519 -> {
          if (spki.length != 44 || !Arrays.equals(spki, 0, 12, ED25519_SPKI_PREFIX, 0, 12)) {
            throw new LinkException(
                "public key is not an Ed25519 SubjectPublicKeyInfo, as scheme 0x0807 requires");
          }
          if (!LinkVerifier.ed25519KeyAcceptable(spki)) {
            throw new LinkException("public key is not a canonical Ed25519 point of large order");
          }
        }
        case ECDSA_P256_SHA256 -> ecKey(spki);
        default -> throw new AssertionError(this);
      }
    }

    /**
     * Decodes a public key for Bouncy Castle, refusing what {@link #checkKey} refuses or an invalid
     * point.
     */
    AsymmetricKeyParameter decodeKey(byte[] spki) throws LinkException {
      return switch (this) {
        case ED25519 -> edKey(spki);
        case ECDSA_P256_SHA256 -> ecKey(spki);
      };
    }

    boolean verify(AsymmetricKeyParameter key, byte[] message, byte[] signature) {
      switch (this) {
        case ED25519 -> {
          if (signature.length != 64) return false;
          Ed25519Signer v = new Ed25519Signer();
          v.init(false, key);
          v.update(message, 0, message.length);
          return v.verifySignature(signature);
        }
        case ECDSA_P256_SHA256 -> {
          DSADigestSigner v =
              new DSADigestSigner(
                  new ECDSASigner(), new SHA256Digest(), StandardDSAEncoding.INSTANCE);
          v.init(false, key);
          v.update(message, 0, message.length);
          try {
            return v.verifySignature(signature);
          } catch (RuntimeException malformed) {
            return false;
          }
        }
        default -> throw new AssertionError(this);
      }
    }
  }

  private static Ed25519PublicKeyParameters edKey(byte[] spki) throws LinkException {
    if (spki.length != 44 || !Arrays.equals(spki, 0, 12, ED25519_SPKI_PREFIX, 0, 12)) {
      throw new LinkException(
          "public key is not an Ed25519 SubjectPublicKeyInfo, as scheme 0x0807 requires");
    }
    try {
      return new Ed25519PublicKeyParameters(spki, 12);
    } catch (IllegalArgumentException e) {
      throw new LinkException("public key is not a valid Ed25519 point");
    }
  }

  private static ECPublicKeyParameters ecKey(byte[] spki) throws LinkException {
    try {
      ASN1Primitive p = ASN1Primitive.fromByteArray(spki);
      if (!Arrays.equals(p.getEncoded("DER"), spki))
        throw new LinkException("public key is not DER");
      SubjectPublicKeyInfo info = SubjectPublicKeyInfo.getInstance(p);
      ASN1ObjectIdentifier alg = info.getAlgorithm().getAlgorithm();
      if (!X9ObjectIdentifiers.id_ecPublicKey.equals(alg)
          || !X9ObjectIdentifiers.prime256v1.equals(info.getAlgorithm().getParameters())) {
        throw new LinkException(
            "public key is not an ECDSA P-256 SubjectPublicKeyInfo, as scheme 0x0403 requires");
      }
      AsymmetricKeyParameter k = PublicKeyFactory.createKey(info);
      return (ECPublicKeyParameters) k;
    } catch (IOException | RuntimeException e) {
      throw new LinkException("public key is not a valid ECDSA P-256 SubjectPublicKeyInfo");
    }
  }

  /** A private key that signs links. */
  public interface Signer {
    Scheme scheme();

    /** SubjectPublicKeyInfo DER. */
    byte[] publicKey();

    byte[] sign(byte[] message);

    /** PKCS#8 PEM ("PRIVATE KEY"). */
    String privateKeyPem();

    default String publicKeyPem() {
      return pem("PUBLIC KEY", publicKey());
    }
  }

  public static Signer generate(Scheme scheme) {
    try {
      KeyPairGenerator g;
      if (scheme == Scheme.ED25519) {
        g = KeyPairGenerator.getInstance("Ed25519");
      } else {
        g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
      }
      return fromPkcs8(g.generateKeyPair().getPrivate().getEncoded());
    } catch (GeneralSecurityException | LinkException e) {
      throw new IllegalStateException("this JDK cannot generate " + scheme.label() + " keys", e);
    }
  }

  public static Signer readPrivateKeyPem(String pem) throws LinkException {
    return fromPkcs8(unpem(pem, "PRIVATE KEY"));
  }

  /** The SubjectPublicKeyInfo DER of a raw 32-byte Ed25519 public key (RFC 8410). */
  public static byte[] ed25519Spki(byte[] raw) {
    if (raw.length != 32) throw new IllegalArgumentException("an Ed25519 public key is 32 bytes");
    return concat(ED25519_SPKI_PREFIX, raw);
  }

  /** A signer from a PKCS#8 private key's DER (Ed25519 or ECDSA P-256). */
  public static Signer readPrivateKey(byte[] pkcs8Der) throws LinkException {
    return fromPkcs8(pkcs8Der);
  }

  public static byte[] readPublicKeyPem(String pem) throws LinkException {
    return unpem(pem, "PUBLIC KEY");
  }

  private static Signer fromPkcs8(byte[] der) throws LinkException {
    AsymmetricKeyParameter k;
    try {
      k = PrivateKeyFactory.createKey(der);
    } catch (IOException | RuntimeException e) {
      throw new LinkException("not a PKCS#8 private key");
    }
    if (k instanceof Ed25519PrivateKeyParameters ed) {
      byte[] spki = concat(ED25519_SPKI_PREFIX, ed.generatePublicKey().getEncoded());
      return new Signer() {
        @Override
        public Scheme scheme() {
          return Scheme.ED25519;
        }

        @Override
        public byte[] publicKey() {
          return spki.clone();
        }

        @Override
        public byte[] sign(byte[] message) {
          Ed25519Signer s = new Ed25519Signer();
          s.init(true, ed);
          s.update(message, 0, message.length);
          return s.generateSignature();
        }

        @Override
        public String privateKeyPem() {
          return pem("PRIVATE KEY", der);
        }
      };
    }
    if (k instanceof ECPrivateKeyParameters ec) {
      ECPublicKeyParameters pub =
          new ECPublicKeyParameters(
              new FixedPointCombMultiplier()
                  .multiply(ec.getParameters().getG(), ec.getD())
                  .normalize(),
              ec.getParameters());
      byte[] spki;
      try {
        spki = SubjectPublicKeyInfoFactory.createSubjectPublicKeyInfo(pub).getEncoded("DER");
      } catch (IOException e) {
        throw new LinkException("cannot encode the public key");
      }
      Scheme.ECDSA_P256_SHA256.decodeKey(spki);
      return new Signer() {
        @Override
        public Scheme scheme() {
          return Scheme.ECDSA_P256_SHA256;
        }

        @Override
        public byte[] publicKey() {
          return spki.clone();
        }

        @Override
        public byte[] sign(byte[] message) {
          // RFC 6979 deterministic nonces: no dependence on the quality of a random source.
          ECDSASigner s = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
          s.init(true, ec);
          SHA256Digest h = new SHA256Digest();
          h.update(message, 0, message.length);
          byte[] digest = new byte[32];
          h.doFinal(digest, 0);
          BigInteger[] rs = s.generateSignature(digest);
          // Low S, which verifiers require (LinkVerifier): of (r, s) and (r, n - s) only the
          // smaller is valid.
          BigInteger n = ec.getParameters().getN();
          BigInteger low = rs[1].compareTo(n.shiftRight(1)) > 0 ? n.subtract(rs[1]) : rs[1];
          try {
            return StandardDSAEncoding.INSTANCE.encode(n, rs[0], low);
          } catch (IOException e) {
            throw new IllegalStateException("cannot encode an ECDSA signature", e);
          }
        }

        @Override
        public String privateKeyPem() {
          return pem("PRIVATE KEY", der);
        }
      };
    }
    throw new LinkException("private key is neither Ed25519 nor ECDSA P-256");
  }

  static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  private static byte[] unpem(String pem, String type) throws LinkException {
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int a = pem.indexOf(begin);
    int b = pem.indexOf(end);
    if (a < 0 || b < a) throw new LinkException("not a PEM " + type);
    try {
      return Base64.getMimeDecoder()
          .decode(pem.substring(a + begin.length(), b).getBytes(StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      throw new LinkException("PEM " + type + " is not base64");
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
