package dev.custody.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERSequence;

/**
 * The shared vectors' three-team chain as this project's rules admit it. The vectors' ECDSA link
 * carries a high-S signature, which Custody refuses (a signature's malleable twin must not be a
 * second link; see LinkVerifier): so the runtime team's statement is signed again with its own
 * vector key (low S), and the application team's link, which names it, is signed again on top. The
 * base team's Ed25519 link is byte for byte the vector's. Statements, keys, digests and log
 * timestamps are the vectors'.
 */
public final class VectorChain {
  private VectorChain() {}

  public static final BigInteger P256_N =
      new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

  public static List<SignedLink> links(JsonNode vectors) {
    List<SignedLink> out = new ArrayList<>();
    byte[] prev = Statement.NO_PREDECESSOR;
    try {
      for (JsonNode l : vectors.get("links")) {
        JsonNode f = l.get("statement_fields");
        Statement s =
            new Statement(
                f.get("repository").asText(),
                Digest.parse(f.get("manifest_digest").asText()),
                f.get("layer_index").asLong(),
                Digest.parse(f.get("layer_digest").asText()),
                Digest.parse(f.get("diff_id").asText()),
                Digest.parse(f.get("chain_id").asText()),
                prev,
                f.get("signed_at_ms").asLong());
        SignedLink link =
            SignedLink.sign(s, LinkKeys.readPrivateKeyPem(l.get("private_key_pkcs8_pem").asText()));
        out.add(link);
        prev = link.linkId();
      }
    } catch (LinkException e) {
      throw new AssertionError(e);
    }
    return out;
  }

  /** The leaves: each link with the vector's log timestamp. */
  public static List<byte[]> leaves(JsonNode vectors) {
    List<SignedLink> links = links(vectors);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < links.size(); i++) {
      long ts = vectors.get("links").get(i).get("leaf").get("log_timestamp_ms").asLong();
      out.add(new Leaf(ts, links.get(i).encoded()).encode());
    }
    return out;
  }

  /**
   * A SignedLink's bytes with its ECDSA signature {@code (r, s)} replaced by {@code (r, n - s)}:
   * the same signature in its other, equally valid form.
   */
  public static byte[] ecdsaTwin(SignedLink link) {
    return link.encodedWithSignature(twinSignature(link.signature()));
  }

  /**
   * The DER ECDSA signature {@code (r, n - s)} for the DER signature {@code (r, s)}: valid exactly
   * when it is.
   */
  public static byte[] twinSignature(byte[] der) {
    ASN1Sequence seq = ASN1Sequence.getInstance(der);
    BigInteger r = ASN1Integer.getInstance(seq.getObjectAt(0)).getValue();
    BigInteger s = ASN1Integer.getInstance(seq.getObjectAt(1)).getValue();
    try {
      return new DERSequence(
              new ASN1Encodable[] {new ASN1Integer(r), new ASN1Integer(P256_N.subtract(s))})
          .getEncoded("DER");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
