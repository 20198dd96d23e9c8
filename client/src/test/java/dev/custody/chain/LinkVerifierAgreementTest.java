package dev.custody.chain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The native verifier (ACCP) and Bouncy Castle give the same verdict on the edge cases where
 * Ed25519 and ECDSA implementations are known to differ — the categories of Chalkias et al.,
 * "Taming the many EdDSAs" (2020), and Wycheproof's ECDSA encodings — and on random damage. The
 * cases are built here from the curves' definitions (a small Edwards-curve reference below), not
 * copied: small-order and mixed-order keys and R, non-canonical encodings, S >= L, high S, BER.
 */
class LinkVerifierAgreementTest {
  private static LinkVerifier nativeVerifier;
  private static final LinkVerifier BC = LinkVerifier.bouncyCastle();
  private static final byte[] MESSAGE = "custody edge cases".getBytes();
  private static final byte[] ED_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  @BeforeAll
  static void loadNative() {
    nativeVerifier = LinkVerifier.fastest();
    assertEquals(
        "accp",
        nativeVerifier.name(),
        "ACCP must load on Linux x86-64, or this test compares nothing");
  }

  /** Both verifiers on one case; returns the common verdict. */
  private static boolean agree(
      String label, LinkKeys.Scheme scheme, byte[] spki, byte[] msg, byte[] sig) {
    boolean a = BC.verify(scheme, spki, msg, sig);
    boolean b = nativeVerifier.verify(scheme, spki, msg, sig);
    assertEquals(a, b, label + ": bouncycastle says " + a + ", accp says " + b);
    return a;
  }

  // ---- A reference twisted Edwards curve (RFC 8032, section 5.1), affine, BigInteger: slow and
  // plain.
  static final BigInteger P = LinkVerifier.ED25519_P;
  static final BigInteger L = LinkVerifier.ED25519_L;
  static final BigInteger D =
      BigInteger.valueOf(-121665).multiply(BigInteger.valueOf(121666).modInverse(P)).mod(P);
  static final BigInteger[] IDENTITY = {BigInteger.ZERO, BigInteger.ONE};
  static final BigInteger[] B =
      point(BigInteger.valueOf(4).multiply(BigInteger.valueOf(5).modInverse(P)).mod(P), false);

  static BigInteger[] point(BigInteger y, boolean negativeX) {
    BigInteger u = y.multiply(y).subtract(BigInteger.ONE);
    BigInteger v = D.multiply(y).multiply(y).add(BigInteger.ONE);
    BigInteger xx = u.multiply(v.modInverse(P)).mod(P);
    BigInteger x = xx.modPow(P.add(BigInteger.valueOf(3)).shiftRight(3), P);
    if (!x.multiply(x).subtract(xx).mod(P).equals(BigInteger.ZERO)) {
      x = x.multiply(BigInteger.TWO.modPow(P.subtract(BigInteger.ONE).shiftRight(2), P)).mod(P);
    }
    if (!x.multiply(x).subtract(xx).mod(P).equals(BigInteger.ZERO)) return null;
    if (x.testBit(0) != negativeX) x = P.subtract(x).mod(P);
    return new BigInteger[] {x, y};
  }

  static BigInteger[] add(BigInteger[] p, BigInteger[] q) {
    BigInteger t = D.multiply(p[0]).multiply(q[0]).multiply(p[1]).multiply(q[1]).mod(P);
    BigInteger x =
        p[0].multiply(q[1])
            .add(q[0].multiply(p[1]))
            .multiply(BigInteger.ONE.add(t).modInverse(P))
            .mod(P);
    BigInteger y =
        p[1].multiply(q[1])
            .add(p[0].multiply(q[0]))
            .multiply(BigInteger.ONE.subtract(t).mod(P).modInverse(P))
            .mod(P);
    return new BigInteger[] {x, y};
  }

  static BigInteger[] mul(BigInteger k, BigInteger[] p) {
    BigInteger[] r = IDENTITY;
    for (int i = k.bitLength() - 1; i >= 0; i--) {
      r = add(r, r);
      if (k.testBit(i)) r = add(r, p);
    }
    return r;
  }

  static byte[] encode(BigInteger[] p) {
    return littleEndian32(
        p[1].or(p[0].testBit(0) ? BigInteger.ONE.shiftLeft(255) : BigInteger.ZERO));
  }

  static byte[] littleEndian32(BigInteger v) {
    byte[] be = v.toByteArray();
    byte[] out = new byte[32];
    for (int i = 0; i < 32 && i < be.length; i++) out[i] = be[be.length - 1 - i];
    return out;
  }

  static BigInteger fromLittleEndian(byte[] b) {
    byte[] be = new byte[b.length];
    for (int i = 0; i < b.length; i++) be[i] = b[b.length - 1 - i];
    return new BigInteger(1, be);
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    for (byte[] p : parts) o.writeBytes(p);
    return o.toByteArray();
  }

  static BigInteger k(byte[] r, byte[] a, byte[] msg) throws Exception {
    return fromLittleEndian(MessageDigest.getInstance("SHA-512").digest(concat(r, a, msg))).mod(L);
  }

  /** A point of order 8 (a generator of the torsion subgroup). */
  static BigInteger[] torsion8() {
    BigInteger[] t =
        point(
            new BigInteger("7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7", 16),
            false);
    assertTrue(
        mul(BigInteger.valueOf(8), t)[0].signum() == 0
            && !Arrays.equals(encode(mul(BigInteger.valueOf(4), t)), encode(IDENTITY)),
        "a point of order exactly 8");
    return t;
  }

  /** All eight points of small order. */
  static List<BigInteger[]> smallOrder() {
    List<BigInteger[]> out = new ArrayList<>();
    BigInteger[] t = torsion8();
    for (int i = 0; i < 8; i++) out.add(mul(BigInteger.valueOf(i), t));
    return out;
  }

  @Test
  void referenceCurveSignsWhatBothVerifiersAccept() throws Exception {
    // The reference is right: a signature it makes verifies in both, and a 1-bit change does not.
    BigInteger a = new BigInteger(250, new SecureRandom()).mod(L);
    byte[] pub = encode(mul(a, B));
    BigInteger r = new BigInteger(250, new SecureRandom()).mod(L);
    byte[] rEnc = encode(mul(r, B));
    byte[] s = littleEndian32(r.add(k(rEnc, pub, MESSAGE).multiply(a)).mod(L));
    assertTrue(
        agree("valid", LinkKeys.Scheme.ED25519, concat(ED_PREFIX, pub), MESSAGE, concat(rEnc, s)));
    byte[] other = MESSAGE.clone();
    other[0] ^= 1;
    assertFalse(
        agree(
            "other message",
            LinkKeys.Scheme.ED25519,
            concat(ED_PREFIX, pub),
            other,
            concat(rEnc, s)));
  }

  @Test
  void ed25519EdgeCasesGetOneVerdict() throws Exception {
    SecureRandom rnd = new SecureRandom();
    Map<String, byte[][]> cases =
        new LinkedHashMap<>(); // label -> {spki, signature}; every one must be refused
    BigInteger a = new BigInteger(250, rnd).mod(L);
    BigInteger[] pubPoint = mul(a, B);
    byte[] pub = encode(pubPoint);
    BigInteger r = new BigInteger(250, rnd).mod(L);
    byte[] rEnc = encode(mul(r, B));
    BigInteger kk = k(rEnc, pub, MESSAGE);
    BigInteger s = r.add(kk.multiply(a)).mod(L);

    // S not reduced: S + L, and S = L.
    cases.put(
        "S + L", new byte[][] {concat(ED_PREFIX, pub), concat(rEnc, littleEndian32(s.add(L)))});
    cases.put("S = L", new byte[][] {concat(ED_PREFIX, pub), concat(rEnc, littleEndian32(L))});
    // Small-order keys with S = 0 and R small order too: [0]B = R + [k]A holds in the cofactored
    // equation for any message.
    int i = 0;
    for (BigInteger[] t : smallOrder()) {
      byte[] tEnc = encode(t);
      cases.put(
          "small-order A and R #" + i,
          new byte[][] {concat(ED_PREFIX, tEnc), concat(tEnc, new byte[32])});
      cases.put(
          "small-order R #" + i,
          new byte[][] {concat(ED_PREFIX, pub), concat(tEnc, littleEndian32(s))});
      i++;
    }
    // Mixed-order key A' = A + T: a signature built so that only the cofactored equation holds.
    BigInteger[] t8 = torsion8();
    byte[] mixedA = encode(add(pubPoint, t8));
    for (int tries = 0; tries < 16; tries++) {
      BigInteger r2 = new BigInteger(250, rnd).mod(L);
      byte[] r2Enc = encode(mul(r2, B));
      BigInteger k2 = k(r2Enc, mixedA, MESSAGE);
      if (k2.mod(BigInteger.valueOf(8)).signum() == 0) continue;
      cases.put(
          "mixed-order A",
          new byte[][] {
            concat(ED_PREFIX, mixedA), concat(r2Enc, littleEndian32(r2.add(k2.multiply(a)).mod(L)))
          });
      break;
    }
    // The same key where [k]T vanishes (k divisible by 8): the cofactorless equation holds too, so
    // only the
    // subgroup check on the key keeps the verdict the same everywhere.
    for (int tries = 0; tries < 400; tries++) {
      BigInteger r2 = new BigInteger(250, rnd).mod(L);
      byte[] r2Enc = encode(mul(r2, B));
      BigInteger k2 = k(r2Enc, mixedA, MESSAGE);
      if (k2.mod(BigInteger.valueOf(8)).signum() != 0) continue;
      cases.put(
          "mixed-order A, k divisible by 8",
          new byte[][] {
            concat(ED_PREFIX, mixedA), concat(r2Enc, littleEndian32(r2.add(k2.multiply(a)).mod(L)))
          });
      break;
    }
    // Mixed-order R' = R + T with S for R: again only the cofactored equation holds.
    byte[] mixedR = encode(add(mul(r, B), t8));
    cases.put(
        "mixed-order R",
        new byte[][] {
          concat(ED_PREFIX, pub),
          concat(mixedR, littleEndian32(r.add(k(mixedR, pub, MESSAGE).multiply(a)).mod(L)))
        });
    // Non-canonical encodings: y + p (the only y with one are below 19), and x = 0 with the sign
    // bit set.
    for (int y = 0; y < 19; y++) {
      BigInteger[] pt = point(BigInteger.valueOf(y), false);
      if (pt == null) continue;
      byte[] nonCanonical = littleEndian32(BigInteger.valueOf(y).add(P));
      cases.put(
          "non-canonical A, y=" + y,
          new byte[][] {concat(ED_PREFIX, nonCanonical), concat(rEnc, littleEndian32(s))});
      cases.put(
          "non-canonical R, y=" + y,
          new byte[][] {concat(ED_PREFIX, pub), concat(nonCanonical, littleEndian32(s))});
    }
    byte[] negZero = littleEndian32(BigInteger.ONE.or(BigInteger.ONE.shiftLeft(255)));
    cases.put(
        "identity with the sign bit set as A",
        new byte[][] {concat(ED_PREFIX, negZero), concat(negZero, new byte[32])});
    // Wrong lengths.
    cases.put(
        "63-byte signature",
        new byte[][] {concat(ED_PREFIX, pub), Arrays.copyOf(concat(rEnc, littleEndian32(s)), 63)});
    cases.put(
        "65-byte signature",
        new byte[][] {concat(ED_PREFIX, pub), Arrays.copyOf(concat(rEnc, littleEndian32(s)), 65)});

    assertTrue(
        cases.containsKey("mixed-order A") && cases.containsKey("mixed-order A, k divisible by 8"));
    for (Map.Entry<String, byte[][]> c : cases.entrySet()) {
      assertFalse(
          agree(c.getKey(), LinkKeys.Scheme.ED25519, c.getValue()[0], MESSAGE, c.getValue()[1]),
          c.getKey() + " must be refused");
    }
    assertTrue(
        agree(
            "the honest signature",
            LinkKeys.Scheme.ED25519,
            concat(ED_PREFIX, pub),
            MESSAGE,
            concat(rEnc, littleEndian32(s))));
  }

  // ---- ECDSA P-256: DER shapes, ranges and the malleable twin.

  static byte[] der(byte[] r, byte[] s) {
    return concat(
        new byte[] {0x30, (byte) (r.length + s.length + 4), 0x02, (byte) r.length},
        r,
        new byte[] {0x02, (byte) s.length},
        s);
  }

  static byte[] integer(BigInteger v) {
    return v.toByteArray();
  }

  @Test
  void ecdsaEdgeCasesGetOneVerdict() throws Exception {
    LinkKeys.Signer key = LinkKeys.generate(LinkKeys.Scheme.ECDSA_P256_SHA256);
    byte[] spki = key.publicKey();
    byte[] sig = key.sign(MESSAGE);
    assertTrue(
        agree(
            "valid (the signer makes low S)",
            LinkKeys.Scheme.ECDSA_P256_SHA256,
            spki,
            MESSAGE,
            sig));
    ASN1Sequence seq = ASN1Sequence.getInstance(sig);
    BigInteger r = ASN1Integer.getInstance(seq.getObjectAt(0)).getValue();
    BigInteger s = ASN1Integer.getInstance(seq.getObjectAt(1)).getValue();
    BigInteger n = LinkVerifier.P256_N;
    assertTrue(s.compareTo(LinkVerifier.P256_HALF_N) <= 0);

    Map<String, byte[]> refused = new LinkedHashMap<>();
    refused.put("high S (n - s): the malleable twin", der(integer(r), integer(n.subtract(s))));
    refused.put("s = 0", der(integer(r), integer(BigInteger.ZERO)));
    refused.put("r = 0", der(integer(BigInteger.ZERO), integer(s)));
    refused.put("r = n", der(integer(n), integer(s)));
    refused.put("r + n", der(integer(r.add(n)), integer(s)));
    refused.put("s = n", der(integer(r), integer(n)));
    refused.put("negative r", der(integer(r.negate()), integer(s)));
    refused.put(
        "r with a needless leading zero", der(concat(new byte[] {0}, integer(r)), integer(s)));
    byte[] longForm =
        concat(new byte[] {0x30, (byte) 0x81, sig[1]}, Arrays.copyOfRange(sig, 2, sig.length));
    refused.put("BER long-form length", longForm);
    refused.put("trailing byte", concat(sig, new byte[] {0}));
    refused.put("truncated", Arrays.copyOf(sig, sig.length - 1));
    refused.put(
        "raw r||s (P1363) instead of DER", concat(littleEndianToBig(r), littleEndianToBig(s)));
    refused.put("empty", new byte[0]);
    refused.put(
        "three integers",
        concat(
            new byte[] {0x30, (byte) (sig.length + 1)},
            Arrays.copyOfRange(sig, 2, sig.length),
            new byte[] {0x02, 0x01, 0x01}));
    for (Map.Entry<String, byte[]> c : refused.entrySet()) {
      assertFalse(
          agree(c.getKey(), LinkKeys.Scheme.ECDSA_P256_SHA256, spki, MESSAGE, c.getValue()),
          c.getKey());
    }
  }

  private static byte[] littleEndianToBig(BigInteger v) {
    byte[] b = v.toByteArray();
    byte[] out = new byte[32];
    System.arraycopy(
        b, Math.max(0, b.length - 32), out, Math.max(0, 32 - b.length), Math.min(32, b.length));
    return out;
  }

  @Test
  void randomDamageGetsOneVerdict() {
    Random rnd = new Random(20261201);
    for (LinkKeys.Scheme scheme : LinkKeys.Scheme.values()) {
      LinkKeys.Signer key = LinkKeys.generate(scheme);
      byte[] spki = key.publicKey();
      for (int i = 0; i < 2_000; i++) {
        byte[] msg = ("message " + i).getBytes();
        byte[] sig = key.sign(msg);
        byte[] bad = sig.clone();
        int flips = 1 + rnd.nextInt(3);
        for (int f = 0; f < flips; f++)
          bad[rnd.nextInt(bad.length)] ^= (byte) (1 << rnd.nextInt(8));
        assertTrue(agree(scheme + " honest " + i, scheme, spki, msg, sig));
        agree(
            scheme + " damaged " + i + " " + HexFormat.of().formatHex(bad), scheme, spki, msg, bad);
      }
    }
  }
}
