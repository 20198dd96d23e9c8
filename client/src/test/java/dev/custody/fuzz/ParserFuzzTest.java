package dev.custody.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import dev.custody.chain.Statement;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import dev.custody.oci.OciImage;
import dev.custody.tiles.EntryBundle;
import dev.custody.tiles.TilePath;
import dev.custody.verify.Bundle;
import dev.custody.verify.PolicyException;
import dev.custody.verify.TrustPolicy;
import dev.custody.witness.Witness;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every parser of outside bytes, under Jazzer. In a normal test run each target replays its seed
 * corpus (src/test/resources/…/ParserFuzzTestInputs/<target>/, taken from the shared vectors and
 * valid objects); {@code fuzz/run.sh} fuzzes each for real. A target passes only if the parser
 * answers with its own checked exception, never anything else, and never accepts nonsense.
 */
class ParserFuzzTest {
  private static final Ed25519NoteKeys.Signer LOG = Ed25519NoteKeys.signerFromSeed("fuzz.test/log", new byte[32]);

  @FuzzTest(maxDuration = "5s")
  void signedLink(byte[] data) {
    try {
      SignedLink l = SignedLink.parse(data);
      l.verifySignature();
      // Whatever parses must re-encode to exactly the same bytes.
      assertEquals(java.util.HexFormat.of().formatHex(data), java.util.HexFormat.of().formatHex(l.encoded()));
    } catch (LinkException expected) {
      // refused with a reason
    }
  }

  @FuzzTest(maxDuration = "5s")
  void leaf(byte[] data) {
    try {
      Leaf l = Leaf.parse(data);
      assertEquals(java.util.HexFormat.of().formatHex(data), java.util.HexFormat.of().formatHex(l.encode()));
    } catch (LinkException expected) {
      // refused
    }
  }

  @FuzzTest(maxDuration = "5s")
  void signedNoteAndCheckpoint(byte[] data) {
    try {
      SignedNote n = SignedNote.parse(data);
      Checkpoint c = Checkpoint.parse(n.text());
      assertEquals(n.text(), c.text(), "a checkpoint that parses formats back to the same text");
      n.verify(List.of(LOG.verifier()));
    } catch (NoteException | CheckpointException expected) {
      // refused
    }
  }

  @FuzzTest(maxDuration = "5s")
  void tilePath(FuzzedDataProvider in) {
    String path = in.consumeRemainingAsString();
    Optional<TilePath> p = TilePath.parse(path);
    p.ifPresent(t -> assertEquals(path, t.format(), "only canonical paths parse"));
  }

  @FuzzTest(maxDuration = "5s")
  void entryBundle(FuzzedDataProvider in) {
    int count = in.consumeInt(0, 300);
    byte[] b = in.consumeRemainingAsBytes();
    try {
      assertEquals(count, EntryBundle.parse(b, count).size());
    } catch (IllegalArgumentException expected) {
      // refused
    }
  }

  @FuzzTest(maxDuration = "5s")
  void bundleAndPolicy(byte[] data) {
    try {
      Bundle.parse(data);
    } catch (PolicyException expected) {
      // refused
    }
    try {
      TrustPolicy.parse(data);
    } catch (PolicyException expected) {
      // refused
    }
  }

  @FuzzTest(maxDuration = "5s")
  void ociManifestAndConfig(FuzzedDataProvider in) {
    byte[] manifest = in.consumeBytes(in.consumeInt(0, 4096));
    byte[] config = in.consumeRemainingAsBytes();
    try {
      OciImage.parse(manifest, config);
    } catch (LinkException expected) {
      // refused
    }
  }

  private static final byte[] ROOT = Hashes.sha256("a real root".getBytes(StandardCharsets.UTF_8));

  @FuzzTest(maxDuration = "5s")
  void randomProofsNeverVerify(FuzzedDataProvider in) {
    long size = in.consumeLong(-2, 1L << 40);
    long index = in.consumeLong(-2, 1L << 40);
    byte[] leaf = in.consumeBytes(33);
    List<byte[]> proof = new ArrayList<>();
    int n = in.consumeInt(0, 70);
    for (int i = 0; i < n && in.remainingBytes() > 0; i++) proof.add(in.consumeBytes(in.consumeBoolean() ? 32 : 31));
    try {
      Proofs.verifyInclusion(index, size, leaf, proof, ROOT);
      throw new AssertionError("a random inclusion proof verified against a fixed root");
    } catch (ProofException expected) {
      // refused
    }
    try {
      Proofs.verifyConsistency(index, size, proof, leaf, ROOT);
      throw new AssertionError("a random consistency proof verified against a fixed root");
    } catch (ProofException expected) {
      // refused
    }
  }

  private static Witness witness;

  @FuzzTest(maxDuration = "5s")
  void witnessRequest(byte[] body) throws Exception {
    if (witness == null) {
      Path dir = Files.createTempDirectory("fuzz-witness");
      witness = new Witness(Ed25519NoteKeys.generate("fuzz.test/w", Ed25519NoteKeys.COSIGNATURE,
          new java.security.SecureRandom()), Map.of(LOG.name(), LOG.verifier()), dir);
    }
    Witness.Response r = witness.addCheckpoint(body);
    if (!Set.of(200, 400, 403, 404, 409, 422).contains(r.status())) throw new AssertionError("status " + r.status());
  }

  @FuzzTest(maxDuration = "5s")
  void statement(byte[] data) {
    try {
      Statement st = Statement.parse(data);
      assertArrayEquals(data, st.encode(), "a statement that parses encodes back to the same bytes");
    } catch (LinkException refused) {
      // refused
    }
  }

  private static final Ed25519NoteKeys.Signer WITNESS = Ed25519NoteKeys.generate("fuzz.test/w2",
      Ed25519NoteKeys.COSIGNATURE, new java.security.SecureRandom());
  private static final String LOG_NOTE = SignedNote.sign(new Checkpoint(LOG.name(), 9, new byte[32]).text(), LOG).format();

  /** Verifier keys and cosignature lines from outside: no line a witness did not make verifies as its cosignature. */
  @FuzzTest(maxDuration = "5s")
  void cosignedCheckpoint(FuzzedDataProvider in) {
    try {
      Ed25519NoteKeys.parseVerifierKey(in.consumeString(120));
    } catch (NoteException refused) {
      // refused
    }
    String note = LOG_NOTE + in.consumeRemainingAsString();
    try {
      SignedNote.parse(note).verify(List.of(WITNESS.verifier()));
    } catch (NoteException refused) {
      return;
    }
    throw new AssertionError("a cosignature the witness never made verified:\n" + note);
  }
}
