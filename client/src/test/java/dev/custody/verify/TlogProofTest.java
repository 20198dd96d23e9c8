package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.Proofs;
import dev.custody.note.Base64s;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * C2SP tlog-proof files: the format written and read back byte for byte, the spec's own example
 * parsed, and each tampering refused for its reason (a flipped proof hash, a wrong origin, a
 * missing cosignature, trailing garbage, lines the format does not know).
 */
class TlogProofTest {
  private static final Ed25519NoteKeys.Signer WITNESS =
      Ed25519NoteKeys.generate(
          "witness.example/w1", Ed25519NoteKeys.COSIGNATURE, new SecureRandom());

  /** Proof files for the vectors' three-link chain, in a log of 5 filler entries, witnessed. */
  private static List<TlogProof> proofs(Ed25519NoteKeys.Signer... signers) throws Exception {
    Bundle b = ChainVerifierTest.bundle(ChainVerifierTest.vectorLeaves(), 5);
    String text = Checkpoint.ofNote(b.checkpointNote()).text();
    String note = SignedNote.sign(text, signers).format();
    List<TlogProof> out = new ArrayList<>();
    for (Bundle.Entry e : b.links())
      out.add(TlogProof.ofLeaf(e.leaf(), e.index(), e.inclusionProof(), note));
    return out;
  }

  /** The log key ChainVerifierTest's policy names. */
  private static Ed25519NoteKeys.Signer log() {
    return ChainVerifierTest.LOG;
  }

  private static TlogProofVerifier verifier(int quorum) throws Exception {
    ObjectNode p = ChainVerifierTest.policyJson();
    ObjectNode w = p.putObject("witnesses").put("quorum", quorum);
    w.putArray("verifier_keys").add(WITNESS.verifier().vkey());
    return new TlogProofVerifier(ChainVerifierTest.policy(p));
  }

  @Test
  void aWrittenProofReadsBackByteForByteAndVerifies() throws Exception {
    TlogProofVerifier v = verifier(1);
    for (TlogProof p : proofs(log(), WITNESS)) {
      byte[] file = p.encode();
      TlogProof back = TlogProof.parse(file);
      assertArrayEquals(file, back.encode());
      assertEquals(p.index(), back.index());
      assertArrayEquals(p.extra().orElseThrow(), back.extra().orElseThrow());
      TlogProofVerifier.Result r = v.verify(file);
      assertTrue(r.ok(), r.report());
      assertTrue(r.report().contains("VERIFIED"), r.report());
    }
    // The layout the spec gives: header, extra, index, hashes, blank line, checkpoint.
    TlogProof first = proofs(log(), WITNESS).get(0);
    String text = new String(first.encode(), StandardCharsets.UTF_8);
    String[] lines = text.split("\n", -1);
    assertEquals("c2sp.org/tlog-proof@v1", lines[0]);
    assertEquals("extra " + Base64s.encode(first.extra().orElseThrow()), lines[1]);
    assertEquals("index 5", lines[2]);
    int hashes = first.proof().size();
    assertEquals("", lines[3 + hashes]);
    assertEquals(first.checkpoint(), text.substring(text.indexOf("\n\n") + 2));
  }

  @Test
  void theSpecsExampleParses() throws Exception {
    // The example of c2sp.org/tlog-proof with its elided signatures filled in with valid base64.
    String sig = Base64s.encode(new byte[68]);
    String file =
        "c2sp.org/tlog-proof@v1\n"
            + "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n"
            + "index 73894\n"
            + "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
            + "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
            + "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
            + "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
            + "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
            + "\n"
            + "example.com/fancylog\n"
            + "109482\n"
            + "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
            + "\n"
            + "— example.com/fancylog "
            + sig
            + "\n";
    TlogProof p = TlogProof.parse(file.getBytes(StandardCharsets.UTF_8));
    assertEquals(73894, p.index());
    assertEquals(5, p.proof().size());
    assertEquals(
        "age-v1.2.1-darwin-arm64.tar.gz",
        new String(p.extra().orElseThrow(), StandardCharsets.UTF_8));
    assertTrue(p.checkpoint().startsWith("example.com/fancylog\n109482\n"));
    assertArrayEquals(file.getBytes(StandardCharsets.UTF_8), p.encode());
    // Without the extra line too.
    TlogProof bare =
        TlogProof.parse(file.replaceFirst("extra [^\n]*\n", "").getBytes(StandardCharsets.UTF_8));
    assertEquals(Optional.empty(), bare.extra().map(String::new));
  }

  @Test
  void aFlippedProofHashIsRefused() throws Exception {
    TlogProof p = proofs(log(), WITNESS).get(1);
    List<byte[]> proof = p.proof();
    proof.get(0)[7] ^= 1;
    TlogProof bad = TlogProof.ofLeaf(p.extra().orElseThrow(), p.index(), proof, p.checkpoint());
    TlogProofVerifier.Result r = verifier(1).verify(bad.encode());
    assertFalse(r.ok());
    assertEquals(1, r.failures().size(), r.report());
    assertTrue(r.failures().get(0).startsWith("the inclusion proof does not hold"), r.report());
    // The same leaf claimed at another index.
    TlogProof moved =
        TlogProof.ofLeaf(p.extra().orElseThrow(), p.index() + 1, p.proof(), p.checkpoint());
    assertTrue(verifier(1).verify(moved.encode()).failures().get(0).contains("inclusion proof"));
    // A changed leaf: its hash is no longer the one proved (and its signature breaks).
    byte[] leaf = p.extra().orElseThrow();
    leaf[leaf.length - 1] ^= 1;
    TlogProofVerifier.Result changed =
        verifier(1).verify(TlogProof.ofLeaf(leaf, p.index(), p.proof(), p.checkpoint()).encode());
    assertTrue(changed.failures().get(0).contains("inclusion proof"), changed.report());
  }

  @Test
  void aWrongOriginIsRefused() throws Exception {
    Ed25519NoteKeys.Signer other = Ed25519NoteKeys.generate("other.log/x", new SecureRandom());
    Bundle b = ChainVerifierTest.bundle(ChainVerifierTest.vectorLeaves(), 5);
    Checkpoint c = Checkpoint.ofNote(b.checkpointNote());
    String note =
        SignedNote.sign(
                new Checkpoint("other.log/x", c.size(), c.rootHash()).text(), other, WITNESS)
            .format();
    Bundle.Entry e = b.links().get(0);
    TlogProofVerifier.Result r =
        verifier(1)
            .verify(TlogProof.ofLeaf(e.leaf(), e.index(), e.inclusionProof(), note).encode());
    assertFalse(r.ok());
    assertTrue(r.failures().get(0).startsWith("checkpoint:"), r.report());
    assertTrue(r.failures().get(0).contains("other.log/x"), r.report());
  }

  @Test
  void aMissingCosignatureIsRefusedUnderAQuorum() throws Exception {
    TlogProof p = proofs(log()).get(0);
    TlogProofVerifier.Result r = verifier(1).verify(p.encode());
    assertFalse(r.ok());
    assertEquals(1, r.failures().size(), r.report());
    assertTrue(r.failures().get(0).contains("0 valid witness cosignature"), r.report());
    assertTrue(verifier(0).verify(p.encode()).ok(), "no quorum asked, none needed");
  }

  @Test
  void trailingGarbageIsRefused() throws Exception {
    byte[] good = proofs(log(), WITNESS).get(2).encode();
    for (String tail : new String[] {"garbage\n", "\n", "x", "— witness.example/w1 AAAA\n"}) {
      byte[] bad = concat(good, tail.getBytes(StandardCharsets.UTF_8));
      TlogProofVerifier.Result r = verifier(1).verify(bad);
      assertFalse(r.ok(), "accepted with " + tail.strip() + " appended");
    }
  }

  @Test
  void linesTheFormatDoesNotKnowAreRefusedWithTheirLine() throws Exception {
    String cp =
        "o\n1\n" + Base64s.encode(new byte[32]) + "\n\n— o " + Base64s.encode(new byte[68]) + "\n";
    String h = Base64s.encode(new byte[32]);
    record Case(String file, String reason) {}
    List<Case> cases =
        List.of(
            new Case("c2sp.org/tlog-proof@v2\nindex 0\n\n" + cp, "line 1"),
            new Case("c2sp.org/tlog-proof@v1\nindex 01\n\n" + cp, "leading zeros"),
            new Case("c2sp.org/tlog-proof@v1\nindex -1\n\n" + cp, "decimal"),
            new Case("c2sp.org/tlog-proof@v1\nindex 9223372036854775808\n\n" + cp, "2^63"),
            new Case("c2sp.org/tlog-proof@v1\nsize 3\nindex 0\n\n" + cp, "line 2"),
            new Case("c2sp.org/tlog-proof@v1\nindex 0\ncomment hi\n\n" + cp, "line 3"),
            new Case("c2sp.org/tlog-proof@v1\nindex 0\n" + h.substring(4) + "\n\n" + cp, "line 3"),
            new Case("c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\n" + cp, "base64"),
            new Case("c2sp.org/tlog-proof@v1\r\nindex 0\n\n" + cp, "line 1"),
            new Case("c2sp.org/tlog-proof@v1\nindex 0\n" + h + "\n", "ends before"),
            new Case("c2sp.org/tlog-proof@v1\nindex 0\n\n", "no checkpoint"),
            new Case(
                "c2sp.org/tlog-proof@v1\nindex 0\n" + (h + "\n").repeat(64) + "\n" + cp,
                "more than 63"));
    for (Case c : cases) {
      TlogProofException e =
          assertThrows(
              TlogProofException.class,
              () -> TlogProof.parse(c.file.getBytes(StandardCharsets.UTF_8)),
              c.file);
      assertTrue(e.getMessage().contains(c.reason), c.reason + " / " + e.getMessage());
    }
    // A carriage return inside the checkpoint is the note parser's to refuse.
    TlogProofVerifier.Result r =
        verifyWithoutQuorum(("c2sp.org/tlog-proof@v1\nindex 0\n\n" + cp.replace("o\n1", "o\r\n1")));
    assertFalse(r.ok());
  }

  @Test
  void aFileLargerThanAnyProofIsRefusedUnread() {
    byte[] huge = new byte[TlogProof.MAX_BYTES + 1];
    TlogProofException e = assertThrows(TlogProofException.class, () -> TlogProof.parse(huge));
    assertTrue(e.getMessage().contains("larger than"), e.getMessage());
  }

  @Test
  void aProofWithoutExtraCannotBeVerified() throws Exception {
    TlogProof p = proofs(log(), WITNESS).get(0);
    TlogProof bare = new TlogProof(Optional.empty(), p.index(), p.proof(), p.checkpoint());
    TlogProofVerifier.Result r = verifier(1).verify(bare.encode());
    assertFalse(r.ok());
    assertTrue(r.failures().get(0).contains("no extra line"), r.report());
  }

  @Test
  void theLeafHashIsOfExtra() throws Exception {
    TlogProof p = proofs(log(), WITNESS).get(0);
    Checkpoint c = Checkpoint.ofNote(p.checkpoint());
    assertArrayEquals(
        c.rootHash(),
        Proofs.rootFromInclusion(
            p.index(), c.size(), Hashes.leafHash(p.extra().orElseThrow()), p.proof()));
  }

  private static TlogProofVerifier.Result verifyWithoutQuorum(String file) throws Exception {
    return verifier(0).verify(file.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
