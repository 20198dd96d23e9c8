package dev.custody.chain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Round trips, bounds and hostile bytes for the link formats. */
class LinkFormatTest {
  static Statement statement(int layer, byte[] prev, Digest diff, Digest chain) {
    return new Statement(
        "registry.example/team/app",
        Digest.sha256Of(new byte[] {1}),
        layer,
        Digest.sha256Of(new byte[] {2, (byte) layer}),
        diff,
        chain,
        prev,
        1_764_288_000_000L);
  }

  static Statement bottom() {
    Digest d = Digest.sha256Of(new byte[] {3});
    return statement(0, Statement.NO_PREDECESSOR, d, d);
  }

  @Test
  void roundTripsForBothSchemes() throws Exception {
    for (LinkKeys.Scheme scheme : LinkKeys.Scheme.values()) {
      LinkKeys.Signer key = LinkKeys.generate(scheme);
      SignedLink link = SignedLink.sign(bottom(), key);
      SignedLink back = SignedLink.parse(link.encoded());
      back.verifySignature();
      assertEquals(bottom(), back.statement());
      assertArrayEquals(link.linkId(), back.linkId());
      LinkKeys.Signer again = LinkKeys.readPrivateKeyPem(key.privateKeyPem());
      assertArrayEquals(key.publicKey(), again.publicKey());
      assertArrayEquals(key.publicKey(), LinkKeys.readPublicKeyPem(key.publicKeyPem()));
    }
  }

  @Test
  void everyTruncationAndEveryExtensionIsRefused() throws Exception {
    for (LinkKeys.Scheme scheme : LinkKeys.Scheme.values()) {
      byte[] b = SignedLink.sign(bottom(), LinkKeys.generate(scheme)).encoded();
      for (int n = 0; n < b.length; n++) {
        byte[] cut = Arrays.copyOf(b, n);
        assertThrows(LinkException.class, () -> SignedLink.parse(cut), "truncated to " + n);
      }
      byte[] longer = Arrays.copyOf(b, b.length + 1);
      assertThrows(LinkException.class, () -> SignedLink.parse(longer));
      byte[] leaf = new Leaf(5, b).encode();
      for (int n = 0; n < leaf.length; n++) {
        byte[] cut = Arrays.copyOf(leaf, n);
        assertThrows(LinkException.class, () -> Leaf.parse(cut), "leaf truncated to " + n);
      }
    }
  }

  @Test
  void randomByteFlipsNeverYieldAValidSignedLink() throws Exception {
    Random rnd = new Random(42);
    LinkKeys.Signer key = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    byte[] b = SignedLink.sign(bottom(), key).encoded();
    for (int i = 0; i < 2000; i++) {
      byte[] m = b.clone();
      m[rnd.nextInt(m.length)] ^= (byte) (1 + rnd.nextInt(255));
      try {
        SignedLink.parse(m).verifySignature();
        throw new AssertionError("a mutated link verified: byte flip " + i);
      } catch (LinkException expected) {
        // refused at parse or signature
      }
    }
  }

  @Test
  void keyMustSuitTheScheme() throws Exception {
    LinkKeys.Signer ec = LinkKeys.generate(LinkKeys.Scheme.ECDSA_P256_SHA256);
    LinkKeys.Signer ed = LinkKeys.generate(LinkKeys.Scheme.ED25519);
    byte[] st = bottom().encode();
    // Re-encode by hand with the other scheme's code: parse must refuse the mismatch.
    for (var pair : new LinkKeys.Signer[][] {{ec, ed}, {ed, ec}}) {
      byte[] bad =
          new TlsWire.Writer()
              .opaque(1, 255, SignedLink.PAYLOAD_TYPE.getBytes())
              .opaque(1, 65535, st)
              .u16(pair[1].scheme().code())
              .opaque(1, 65535, pair[0].publicKey())
              .opaque(1, 65535, pair[0].sign(Pae.encode(SignedLink.PAYLOAD_TYPE, st)))
              .bytes();
      assertThrows(LinkException.class, () -> SignedLink.parse(bad));
    }
    byte[] junkKey =
        new TlsWire.Writer()
            .opaque(1, 255, SignedLink.PAYLOAD_TYPE.getBytes())
            .opaque(1, 65535, st)
            .u16(0x0403)
            .opaque(1, 65535, new byte[] {0x30, 0x03, 0x02, 0x01, 0x01})
            .opaque(1, 65535, new byte[64])
            .bytes();
    assertThrows(LinkException.class, () -> SignedLink.parse(junkKey));
  }

  @Test
  void statementBounds() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new Statement(
                "",
                bottom().manifestDigest(),
                0,
                bottom().layerDigest(),
                bottom().diffId(),
                bottom().chainId(),
                new byte[32],
                0));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new Statement(
                "x".repeat(256),
                bottom().manifestDigest(),
                0,
                bottom().layerDigest(),
                bottom().diffId(),
                bottom().chainId(),
                new byte[32],
                0));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new Statement(
                "r/app:latest",
                bottom().manifestDigest(),
                0,
                bottom().layerDigest(),
                bottom().diffId(),
                bottom().chainId(),
                new byte[32],
                0));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new Statement(
                "r/app",
                bottom().manifestDigest(),
                1L << 32,
                bottom().layerDigest(),
                bottom().diffId(),
                bottom().chainId(),
                new byte[32],
                0));
    new Statement(
        "registry.example:5000/team/app",
        bottom().manifestDigest(),
        0xffffffffL,
        bottom().layerDigest(),
        bottom().diffId(),
        bottom().chainId(),
        new byte[32],
        Long.MAX_VALUE);
    byte[] max =
        new Statement(
                "x".repeat(255),
                bottom().manifestDigest(),
                0,
                bottom().layerDigest(),
                bottom().diffId(),
                bottom().chainId(),
                new byte[32],
                0)
            .encode();
    assertEquals(1 + 1 + 255 + 33 + 4 + 33 * 3 + 32 + 8, max.length);
  }
}
