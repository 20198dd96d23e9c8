package dev.custody.chain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.custody.merkle.Hashes;
import dev.custody.testing.VectorChain;
import dev.custody.testing.Vectors;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Known answers from an encoder written apart from this project: every byte must match. */
class LinkVectorsTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final JsonNode V = Vectors.json(Vectors.path("layer-links", "links.json"));

  private static byte[] hex(JsonNode n) {
    return HEX.parseHex(n.asText());
  }

  private static byte[] sha256(byte[] b) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(b);
  }

  @Test
  void everyLinkReproducedByteForByte() throws Exception {
    assertEquals(SignedLink.PAYLOAD_TYPE, V.get("payload_type").asText());
    byte[] previousLinkId = new byte[32];
    List<String> highS = new ArrayList<>();
    for (JsonNode l : V.get("links")) {
      String team = l.get("team").asText();
      JsonNode f = l.get("statement_fields");
      Statement s =
          new Statement(
              f.get("repository").asText(),
              Digest.parse(f.get("manifest_digest").asText()),
              f.get("layer_index").asLong(),
              Digest.parse(f.get("layer_digest").asText()),
              Digest.parse(f.get("diff_id").asText()),
              Digest.parse(f.get("chain_id").asText()),
              hex(f.get("prev_link_id")),
              f.get("signed_at_ms").asLong());
      assertArrayEquals(hex(l.get("statement_hex")), s.encode(), team + " statement");
      assertEquals(s, Statement.parse(hex(l.get("statement_hex"))), team + " statement parse");
      assertArrayEquals(
          hex(l.get("pae_hex")), Pae.encode(SignedLink.PAYLOAD_TYPE, s.encode()), team + " PAE");

      SignedLink link = SignedLink.parse(hex(l.get("signed_link_hex")));
      if (verifyOrRefuseHighS(team, link)) highS.add(team);
      assertArrayEquals(hex(l.get("signed_link_hex")), link.encoded());
      assertEquals(l.get("signature_scheme").asInt(), link.signatureScheme());
      assertArrayEquals(hex(l.get("public_key_spki_hex")), link.publicKey());
      // link_id and key_id by the spec's formulas, computed here with the JDK, not our code.
      assertArrayEquals(
          hex(l.get("link_id_hex")),
          sha256(hex(l.get("signed_link_hex"))),
          team + " link_id formula");
      assertArrayEquals(hex(l.get("link_id_hex")), link.linkId(), team + " link_id");
      assertArrayEquals(hex(l.get("key_id_hex")), sha256(hex(l.get("public_key_spki_hex"))));
      assertArrayEquals(hex(l.get("key_id_hex")), link.keyId(), team + " key_id");
      assertArrayEquals(previousLinkId, s.prevLinkId(), team + " links to the link below");
      previousLinkId = link.linkId();

      LinkKeys.Signer key = LinkKeys.readPrivateKeyPem(l.get("private_key_pkcs8_pem").asText());
      assertArrayEquals(link.publicKey(), key.publicKey(), team + " key pair");
      assertArrayEquals(
          link.publicKey(), LinkKeys.readPublicKeyPem(l.get("public_key_pem").asText()));
      SignedLink ours = SignedLink.sign(s, key);
      ours.verifySignature();
      if (key.scheme() == LinkKeys.Scheme.ED25519) {
        // Ed25519 is deterministic: our signer must produce their bytes exactly.
        assertArrayEquals(hex(l.get("signed_link_hex")), ours.encoded(), team + " signed link");
      }

      JsonNode leaf = l.get("leaf");
      Leaf lf = new Leaf(leaf.get("log_timestamp_ms").asLong(), link.encoded());
      assertArrayEquals(hex(leaf.get("leaf_hex")), lf.encode(), team + " leaf");
      assertArrayEquals(
          hex(leaf.get("leaf_hash_hex")), Hashes.leafHash(lf.encode()), team + " leaf hash");
      Leaf back = Leaf.parse(hex(leaf.get("leaf_hex")));
      assertEquals(lf.logTimestampMs(), back.logTimestampMs());
      assertArrayEquals(lf.signedLink(), back.signedLink());
    }
    // Named so that a change to the vectors, or to the rule, is noticed rather than absorbed.
    assertEquals(List.of("runtime"), highS);
  }

  /**
   * The one deliberate departure from these vectors: the runtime team's ECDSA signature has a high
   * s, which Custody refuses (malleability: its twin (r, n - s) would otherwise be a second valid
   * link). The signature is mathematically valid — the arithmetic without the encoding rule accepts
   * it — its low-S twin verifies, and everything else about the link is reproduced byte for byte.
   */
  static boolean verifyOrRefuseHighS(String label, SignedLink link) throws Exception {
    if (link.signatureScheme() == LinkKeys.Scheme.ECDSA_P256_SHA256.code()
        && !LinkVerifier.ecdsaAcceptable(link.signature())) {
      LinkException e = assertThrows(LinkException.class, link::verifySignature, label);
      assertTrue(e.getMessage().contains("low s"), e.getMessage());
      byte[] pae = Pae.encode(SignedLink.PAYLOAD_TYPE, link.statement().encode());
      assertTrue(
          LinkVerifier.bouncyCastle()
              .check(LinkKeys.Scheme.ECDSA_P256_SHA256, link.publicKey(), pae, link.signature()),
          label + ": the vector's signature is valid arithmetic");
      SignedLink.parse(VectorChain.ecdsaTwin(link)).verifySignature();
      return true;
    }
    link.verifySignature();
    return false;
  }

  @Test
  void chainIdsFollowTheOciFormula() throws Exception {
    List<Digest> diffIds = new ArrayList<>();
    V.get("image").get("diff_ids").forEach(d -> diffIds.add(uncheckedDigest(d.asText())));
    List<Digest> ours = ChainIds.of(diffIds);
    String chain = null;
    for (int i = 0; i < diffIds.size(); i++) {
      String diff = V.get("image").get("diff_ids").get(i).asText();
      chain =
          chain == null
              ? diff
              : "sha256:"
                  + HEX.formatHex(sha256((chain + " " + diff).getBytes(StandardCharsets.US_ASCII)));
      assertEquals(
          chain, V.get("image").get("chain_ids").get(i).asText(), "independent formula vs vector");
      assertEquals(chain, ours.get(i).toString(), "ours vs vector at " + i);
    }
  }

  /** What must refuse each invalid link: parsing, the signature check, or a chain rule. */
  private static final Map<String, String> STAGE =
      Map.ofEntries(
          Map.entry("trailing byte after the SignedLink", "parse"),
          Map.entry("truncated SignedLink", "parse"),
          Map.entry("signature does not verify (one bit flipped in the signature)", "signature"),
          Map.entry("statement changed after signing (layer digest bit flipped)", "signature"),
          Map.entry("Ed25519 key with the ECDSA scheme code", "parse"),
          Map.entry("unknown signature scheme 0x0804 (rsa_pss_rsae_sha256)", "parse"),
          Map.entry("statement version 2", "parse"),
          Map.entry("unknown digest algorithm 7 in manifest_digest", "parse"),
          Map.entry("wrong payload type", "parse"),
          Map.entry("layer 0 with a non-zero prev_link_id", "alone"),
          Map.entry("layer 0 whose chain_id is not its diff_id", "alone"),
          Map.entry(
              "chain_id does not follow from the predecessor (valid signature; admission must refuse once link 0 is logged)",
              "on-top"),
          Map.entry(
              "layer_index not one above the predecessor (valid signature; admission must refuse once link 0 is logged)",
              "on-top"),
          Map.entry("predecessor not in the log (valid signature)", "unknown-predecessor"),
          Map.entry("empty repository", "parse"),
          Map.entry("statement length prefix larger than the rest", "parse"));

  @Test
  void everyInvalidLinkIsRefusedForItsStatedReason() throws Exception {
    SignedLink base = SignedLink.parse(hex(V.get("links").get(0).get("signed_link_hex")));
    int n = 0;
    List<String> highS = new ArrayList<>();
    for (JsonNode c : V.get("invalid")) {
      String reason = c.get("reason").asText();
      String stage = STAGE.get(reason);
      assertTrue(stage != null, "a new invalid case needs a stage here: " + reason);
      byte[] b = hex(c.get("signed_link_hex"));
      if (stage.equals("parse")) {
        assertThrows(LinkException.class, () -> SignedLink.parse(b), reason);
        n++;
        continue;
      }
      SignedLink link = SignedLink.parse(b);
      if (stage.equals("signature")) {
        assertThrows(LinkException.class, link::verifySignature, reason);
      } else {
        if (verifyOrRefuseHighS(reason, link)) highS.add(reason);
        switch (stage) {
          case "alone" ->
              assertThrows(
                  LinkException.class, () -> LinkRules.checkAlone(link.statement()), reason);
          case "on-top" -> {
            LinkRules.checkAlone(link.statement());
            assertThrows(LinkException.class, () -> LinkRules.checkOnTop(base, link), reason);
          }
          case "unknown-predecessor" -> {
            LinkRules.checkAlone(link.statement());
            assertTrue(link.statement().hasPredecessor());
            for (JsonNode l : V.get("links")) {
              assertTrue(
                  !HEX.formatHex(link.statement().prevLinkId())
                      .equals(l.get("link_id_hex").asText()),
                  reason);
            }
          }
          default -> throw new AssertionError(stage);
        }
      }
      n++;
    }
    assertEquals(16, n);
    assertEquals(List.of("predecessor not in the log (valid signature)"), highS);
  }

  private static Digest uncheckedDigest(String s) {
    try {
      return Digest.parse(s);
    } catch (LinkException e) {
      throw new AssertionError(e);
    }
  }
}
