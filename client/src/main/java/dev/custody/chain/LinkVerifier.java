package dev.custody.chain;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Checks a link's signature. Whatever does the arithmetic — Bouncy Castle in Java, or a native
 * library behind a JCA provider — sees only inputs that pass one set of encoding rules, checked
 * here first, so every implementation gives the same verdict on every input:
 *
 * <ul>
 *   <li>Ed25519 (RFC 8032): a 64-byte signature with {@code S < L}; the signature's {@code R}
 *       canonically encoded ({@code y < p}) and not of small order; the key {@code A} canonical and
 *       in the prime-order subgroup ({@code [L]A = 0}: no torsion component, checked once per key
 *       and remembered); the cofactorless equation {@code [S]B = R + [k]A}, which AWS-LC uses.
 *       Bouncy Castle uses the cofactored one, which also accepts a key or an R with a torsion
 *       component (the agreement test shows both): with a torsion-free key the two equations differ
 *       only on such an R, so the Bouncy Castle verifier also checks that R is in the prime-order
 *       subgroup.
 *   <li>ECDSA P-256 with SHA-256: the DER {@code ECDSA-Sig-Value}, minimally encoded, with {@code 1
 *       <= r < n} and {@code 1 <= s <= n/2} ("low S"). A signature {@code (r, s)} is valid exactly
 *       when {@code (r, n - s)} is, so without this rule anyone could turn a team's link into a
 *       second, different link for the same statement.
 * </ul>
 *
 * <p>Thread-safe. An instance remembers the verdict of the key check for up to {@value #KEY_CACHE}
 * Ed25519 keys (teams sign many links with one key), and a JCA verifier as many decoded keys;
 * nothing else.
 */
public abstract class LinkVerifier {
  /** Ed25519 keys whose subgroup check is remembered; the memory is cleared when full. */
  static final int KEY_CACHE = 10_000;

  private final Map<ByteBuffer, Boolean> primeOrderKeys = new ConcurrentHashMap<>();

  /** The group order of P-256. */
  static final BigInteger P256_N =
      new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

  static final BigInteger P256_HALF_N = P256_N.shiftRight(1);

  /** The order of Ed25519's prime-order subgroup, and its field prime. */
  static final BigInteger ED25519_L =
      BigInteger.ONE.shiftLeft(252).add(new BigInteger("14def9dea2f79cd65812631a5cf5d3ed", 16));

  static final BigInteger ED25519_P =
      BigInteger.ONE.shiftLeft(255).subtract(BigInteger.valueOf(19));

  /** The y coordinates of Ed25519's eight points of small order (each with both signs of x). */
  private static final BigInteger[] SMALL_ORDER_Y = {
    BigInteger.ZERO,
    BigInteger.ONE,
    ED25519_P.subtract(BigInteger.ONE),
    new BigInteger("7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7", 16),
    new BigInteger("05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826", 16)
  };

  /** A name for start lines and metrics, e.g. "bouncycastle" or "accp". */
  public abstract String name();

  /**
   * Whether {@code signature} by the key {@code spki} (a SubjectPublicKeyInfo that {@link
   * LinkKeys.Scheme#checkKey} accepted) verifies over {@code message}.
   */
  public final boolean verify(
      LinkKeys.Scheme scheme, byte[] spki, byte[] message, byte[] signature) {
    return switch (scheme) {
      case ED25519 ->
          ed25519Acceptable(spki, signature)
              && primeOrderKey(spki)
              && check(scheme, spki, message, signature);
      case ECDSA_P256_SHA256 ->
          ecdsaAcceptable(signature) && check(scheme, spki, message, signature);
    };
  }

  /** The arithmetic, on inputs that passed the encoding rules. */
  protected abstract boolean check(
      LinkKeys.Scheme scheme, byte[] spki, byte[] message, byte[] signature);

  /** Whether an Ed25519 key (a 44-byte SPKI) has no torsion component; remembered per key. */
  private boolean primeOrderKey(byte[] spki) {
    ByteBuffer point = ByteBuffer.wrap(Arrays.copyOfRange(spki, 12, 44));
    Boolean known = primeOrderKeys.get(point);
    if (known != null) return known;
    boolean ok = Ed25519.validatePublicKeyFull(spki, 12);
    if (primeOrderKeys.size() >= KEY_CACHE)
      primeOrderKeys.clear(); // bounded; keys in use come back at once
    primeOrderKeys.put(point, ok);
    return ok;
  }

  /**
   * Bouncy Castle's lightweight API, in Java: loads everywhere. A new instance, with a key memory
   * of its own.
   */
  public static LinkVerifier bouncyCastle() {
    return new BouncyCastleLinkVerifier();
  }

  /** A JCA provider's "Ed25519" and "SHA256withECDSA" (for a native provider such as ACCP). */
  public static LinkVerifier jca(Provider provider, String name) {
    return new JcaLinkVerifier(provider, name);
  }

  /**
   * The fastest verifier that works here: Amazon Corretto Crypto Provider when it is on the class
   * path and its native library loads and passes a self-test, else Bouncy Castle. Chosen by the
   * caller once, at start.
   */
  public static LinkVerifier fastest() {
    try {
      Class<?> c =
          Class.forName("com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider");
      Provider p = (Provider) c.getField("INSTANCE").get(null);
      if (c.getMethod("getLoadingError").invoke(p) != null) return bouncyCastle();
      LinkVerifier accp = jca(p, "accp");
      return SelfTest.passes(accp) ? accp : bouncyCastle();
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return bouncyCastle();
    }
  }

  /** The key's point canonically encoded and not of small order; requires a 44-byte SPKI. */
  static boolean ed25519KeyAcceptable(byte[] spki) {
    return canonicalLargeOrder(Arrays.copyOfRange(spki, 12, 44));
  }

  static boolean ed25519Acceptable(byte[] spki, byte[] signature) {
    if (signature.length != 64 || spki.length != 44) return false;
    return ed25519KeyAcceptable(spki)
        && canonicalLargeOrder(Arrays.copyOfRange(signature, 0, 32))
        && littleEndian(Arrays.copyOfRange(signature, 32, 64)).compareTo(ED25519_L) < 0;
  }

  /**
   * An encoded point whose y is below p and which is not one of the eight points of small order.
   */
  private static boolean canonicalLargeOrder(byte[] encoded) {
    byte[] y = encoded.clone();
    y[31] &= 0x7f; // the sign of x
    BigInteger v = littleEndian(y);
    if (v.compareTo(ED25519_P) >= 0) return false;
    for (BigInteger small : SMALL_ORDER_Y) if (small.equals(v)) return false;
    return true;
  }

  private static BigInteger littleEndian(byte[] b) {
    byte[] be = new byte[b.length];
    for (int i = 0; i < b.length; i++) be[i] = b[b.length - 1 - i];
    return new BigInteger(1, be);
  }

  /** Strict DER of two positive integers, r below n, s at most n/2. */
  static boolean ecdsaAcceptable(byte[] signature) {
    if (signature.length < 8 || signature.length > 72) return false;
    try {
      ASN1Primitive p = ASN1Primitive.fromByteArray(signature);
      if (!Arrays.equals(p.getEncoded(ASN1Encoding.DER), signature)) return false;
      ASN1Sequence seq = ASN1Sequence.getInstance(p);
      if (seq.size() != 2) return false;
      BigInteger r = ASN1Integer.getInstance(seq.getObjectAt(0)).getValue();
      BigInteger s = ASN1Integer.getInstance(seq.getObjectAt(1)).getValue();
      return r.signum() > 0
          && r.compareTo(P256_N) < 0
          && s.signum() > 0
          && s.compareTo(P256_HALF_N) <= 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static final class BouncyCastleLinkVerifier extends LinkVerifier {
    @Override
    public String name() {
      return "bouncycastle";
    }

    @Override
    protected boolean check(LinkKeys.Scheme scheme, byte[] spki, byte[] message, byte[] signature) {
      try {
        // Cofactored, so also require a torsion-free R: that makes the verdict the cofactorless
        // equation's.
        return scheme.verify(scheme.decodeKey(spki), message, signature)
            && (scheme != LinkKeys.Scheme.ED25519 || Ed25519.validatePublicKeyFull(signature, 0));
      } catch (LinkException e) {
        return false;
      }
    }
  }

  private static final class JcaLinkVerifier extends LinkVerifier {
    private final Provider provider;
    private final String name;
    // Signature and KeyFactory objects are not thread-safe and cost a provider look-up to make: one
    // per thread.
    private final ThreadLocal<Signature> ed;
    private final ThreadLocal<Signature> ec;
    private final ThreadLocal<KeyFactory> edKeys;
    private final ThreadLocal<KeyFactory> ecKeys;
    // Decoding a key (DER, then the point) costs a good part of a verification; teams sign many
    // links with one key. PublicKey objects are immutable and may be shared between threads.
    private final Map<ByteBuffer, PublicKey> keys = new ConcurrentHashMap<>();

    JcaLinkVerifier(Provider provider, String name) {
      this.provider = provider;
      this.name = name;
      this.ed = ThreadLocal.withInitial(() -> signature("Ed25519"));
      this.ec = ThreadLocal.withInitial(() -> signature("SHA256withECDSA"));
      this.edKeys = ThreadLocal.withInitial(() -> keyFactory("Ed25519"));
      this.ecKeys = ThreadLocal.withInitial(() -> keyFactory("EC"));
    }

    private Signature signature(String alg) {
      try {
        return Signature.getInstance(alg, provider);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(provider.getName() + " has no " + alg, e);
      }
    }

    /**
     * The provider's own key factory, else the JDK's (ACCP verifies Ed25519 but reads no Ed25519
     * keys).
     */
    private KeyFactory keyFactory(String alg) {
      try {
        return KeyFactory.getInstance(alg, provider);
      } catch (GeneralSecurityException e) {
        try {
          return KeyFactory.getInstance(alg);
        } catch (GeneralSecurityException none) {
          throw new IllegalStateException("no provider reads " + alg + " keys", none);
        }
      }
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    protected boolean check(LinkKeys.Scheme scheme, byte[] spki, byte[] message, byte[] signature) {
      boolean edwards = scheme == LinkKeys.Scheme.ED25519;
      try {
        PublicKey key = keys.get(ByteBuffer.wrap(spki));
        if (key == null) {
          key = (edwards ? edKeys : ecKeys).get().generatePublic(new X509EncodedKeySpec(spki));
          if (keys.size() >= KEY_CACHE) keys.clear(); // bounded; keys in use come back at once
          keys.put(ByteBuffer.wrap(spki.clone()), key);
        }
        Signature v = (edwards ? ed : ec).get();
        v.initVerify(key);
        v.update(message);
        return v.verify(signature);
      } catch (GeneralSecurityException | RuntimeException e) {
        return false; // a key or signature the provider cannot read does not verify
      }
    }
  }

  /**
   * A known good signature of each type must verify and a damaged one must not, before a verifier
   * is trusted.
   */
  private static final class SelfTest {
    static boolean passes(LinkVerifier v) {
      byte[] message = "custody self-test".getBytes(StandardCharsets.US_ASCII);
      for (LinkKeys.Scheme scheme : LinkKeys.Scheme.values()) {
        LinkKeys.Signer key = LinkKeys.generate(scheme);
        byte[] sig = key.sign(message);
        if (!v.verify(scheme, key.publicKey(), message, sig)) return false;
        byte[] other = message.clone();
        other[0] ^= 1;
        if (v.verify(scheme, key.publicKey(), other, sig)) return false;
      }
      return true;
    }
  }
}
