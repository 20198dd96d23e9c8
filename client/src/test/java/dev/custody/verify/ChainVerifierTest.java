package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.chain.LinkException;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofBuilder;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import dev.custody.oci.OciImage;
import dev.custody.testing.NaiveTree;
import dev.custody.testing.VectorChain;
import dev.custody.testing.Vectors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The verifier over the vectors' real umoci image and the three teams' real links, logged in an
 * in-memory tree with a real signed checkpoint: the good chain verifies, each tamper fails for its
 * own reason on its own layer.
 */
class ChainVerifierTest {
  private static final JsonNode V = Vectors.json(Vectors.path("layer-links", "links.json"));
  private static final Path LAYOUT = Vectors.path("layer-links", "oci-layout");
  private static final ObjectMapper JSON = new ObjectMapper();
  static final Ed25519NoteKeys.Signer LOG =
      Ed25519NoteKeys.generate("test.log/custody", new SecureRandom());

  @TempDir Path tmp;

  /**
   * A log holding some filler and then the given leaves; a bundle for the last {@code n} of them.
   */
  static Bundle bundle(List<byte[]> leaves, int filler) {
    List<byte[]> all = new ArrayList<>();
    for (int i = 0; i < filler; i++) all.add(new byte[] {(byte) i});
    all.addAll(leaves);
    List<byte[]> hashes = all.stream().map(Hashes::leafHash).toList();
    NaiveTree t = new NaiveTree(hashes);
    ProofBuilder pb =
        new ProofBuilder(
            (level, index) -> t.mth((int) (index << level), (int) ((index + 1) << level)));
    int size = all.size();
    String note =
        SignedNote.sign(new Checkpoint(LOG.name(), size, t.root(size)).text(), LOG).format();
    List<Bundle.Entry> entries = new ArrayList<>();
    for (int i = filler; i < size; i++)
      entries.add(new Bundle.Entry(i, all.get(i), pb.inclusion(i, size)));
    return new Bundle(note, entries);
  }

  /** The vectors' chain as Custody admits it (low-S ECDSA; see VectorChain). */
  static List<byte[]> vectorLeaves() {
    return VectorChain.leaves(V);
  }

  static ObjectNode policyJson() {
    ObjectNode p = JSON.createObjectNode();
    p.putObject("log").put("origin", LOG.name()).put("verifier_key", LOG.verifier().vkey());
    String[] repos = {
      "registry.example/base/*", "registry.example/runtime/*", "registry.example/apps/*"
    };
    int i = 0;
    for (JsonNode l : V.get("links")) {
      ObjectNode s = p.withArray("signers").addObject();
      s.put("name", l.get("team").asText()).put("public_key", l.get("public_key_pem").asText());
      s.putArray("repositories").add(repos[i]);
      s.putObject("layers").put("min", i).put("max", i);
      i++;
    }
    return p;
  }

  static TrustPolicy policy(ObjectNode json) throws Exception {
    return TrustPolicy.parse(JSON.writeValueAsBytes(json));
  }

  @Test
  void theThreeTeamChainVerifiesOfflineAndFromItsJson() throws Exception {
    OciImage app = OciImage.fromLayout(LAYOUT, "app");
    assertEquals(3, app.checkLayerBlobs(LAYOUT));
    Bundle b = Bundle.parse(bundle(vectorLeaves(), 5).toJson());
    ChainVerifier.Result r =
        new ChainVerifier(policy(policyJson())).verify(app, b, new CheckpointStore(tmp), null);
    assertTrue(r.ok(), r.report());
    assertTrue(r.report().contains("VERIFIED"));
  }

  @Test
  void eachTamperFailsOnItsLayerForItsReason() throws Exception {
    OciImage app = OciImage.fromLayout(LAYOUT, "app");
    TrustPolicy good = policy(policyJson());

    // A layer signed by a key the policy does not know: drop the runtime team from the policy.
    ObjectNode noRuntime = policyJson();
    noRuntime.withArray("signers").remove(1);
    ChainVerifier.Result r =
        new ChainVerifier(policy(noRuntime)).verify(app, bundle(vectorLeaves(), 0), null, null);
    assertFalse(r.ok());
    assertTrue(r.layers().get(0).ok());
    assertTrue(r.layers().get(1).failure().orElseThrow().contains("does not trust"), r.report());

    // The right key in the wrong place.
    ObjectNode wrongLayer = policyJson();
    ((ObjectNode) wrongLayer.withArray("signers").get(2))
        .putObject("layers")
        .put("min", 5)
        .put("max", 9);
    r = new ChainVerifier(policy(wrongLayer)).verify(app, bundle(vectorLeaves(), 0), null, null);
    assertTrue(
        r.layers().get(2).failure().orElseThrow().contains("not allowed for layer 2"), r.report());

    // Outside its validity window (the vectors' log time is 2025-11-28).
    ObjectNode expired = policyJson();
    ((ObjectNode) expired.withArray("signers").get(0)).put("valid_until", "2025-01-01T00:00:00Z");
    r = new ChainVerifier(policy(expired)).verify(app, bundle(vectorLeaves(), 0), null, null);
    assertTrue(r.layers().get(0).failure().orElseThrow().contains("validity window"), r.report());

    // A missing link: only the first two were logged.
    r = new ChainVerifier(good).verify(app, bundle(vectorLeaves().subList(0, 2), 0), null, null);
    assertTrue(r.layers().get(2).failure().orElseThrow().contains("no logged link"), r.report());

    // The runtime image (2 layers) verified against the app's chain: too many links, wrong top.
    OciImage runtime = OciImage.fromLayout(LAYOUT, "runtime");
    r = new ChainVerifier(good).verify(runtime, bundle(vectorLeaves(), 0), null, null);
    assertFalse(r.ok(), r.report());

    // A link's proof that does not lead to the checkpoint.
    Bundle b = bundle(vectorLeaves(), 3);
    List<Bundle.Entry> bad = new ArrayList<>(b.links());
    Bundle.Entry e = bad.get(1);
    bad.set(1, new Bundle.Entry(e.index() + 1, e.leaf(), e.inclusionProof()));
    r = new ChainVerifier(good).verify(app, new Bundle(b.checkpointNote(), bad), null, null);
    assertTrue(r.layers().get(1).failure().orElseThrow().contains("not proved"), r.report());

    // A checkpoint not signed by the log: every layer lacks a trusted checkpoint.
    Ed25519NoteKeys.Signer impostor = Ed25519NoteKeys.generate(LOG.name(), new SecureRandom());
    Checkpoint cp = new CheckpointVerifier(LOG.name(), LOG.verifier()).verify(b.checkpointNote());
    String forged = SignedNote.sign(cp.text(), impostor).format();
    r = new ChainVerifier(good).verify(app, new Bundle(forged, b.links()), null, null);
    assertFalse(r.ok());
    assertTrue(r.logFailures().get(0).contains("checkpoint"), r.report());
  }

  @Test
  void aTamperedLayerBlobIsCaught() throws Exception {
    Path copy = tmp.resolve("layout");
    try (var s = Files.walk(LAYOUT)) {
      for (Path p : s.toList()) {
        Path t = copy.resolve(LAYOUT.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(t);
        else Files.copy(p, t);
      }
    }
    OciImage app = OciImage.fromLayout(copy, "app");
    Path layer1 = copy.resolve("blobs/sha256/" + app.layerDigests().get(1).toString().substring(7));
    byte[] b = Files.readAllBytes(layer1);
    b[b.length / 2] ^= 1;
    Files.write(layer1, b);
    var ex = assertThrows(LinkException.class, () -> app.checkLayerBlobs(copy));
    assertTrue(ex.getMessage().contains("layer 1"), ex.getMessage());
  }

  @Test
  void aStoreRefusesAForkAndAnOfflineCheckpointItCannotProve() throws Exception {
    OciImage app = OciImage.fromLayout(LAYOUT, "app");
    TrustPolicy good = policy(policyJson());
    CheckpointStore store = new CheckpointStore(tmp.resolve("store"));
    assertTrue(new ChainVerifier(good).verify(app, bundle(vectorLeaves(), 4), store, null).ok());
    // Same size, different history (different filler): a fork.
    List<byte[]> other = new ArrayList<>();
    for (int i = 0; i < 4; i++) other.add(new byte[] {9, (byte) i});
    other.addAll(vectorLeaves());
    Bundle forked = bundle(other, 0);
    ChainVerifier.Result r =
        new ChainVerifier(good)
            .verify(
                app,
                new Bundle(forked.checkpointNote(), forked.links().subList(4, 7)),
                store,
                null);
    assertFalse(r.ok());
    assertTrue(String.join(" ", r.logFailures()).contains("forked"), r.report());
    // A larger checkpoint offline: cannot be proved consistent, so it is refused.
    r = new ChainVerifier(good).verify(app, bundle(vectorLeaves(), 10), store, null);
    assertTrue(String.join(" ", r.logFailures()).contains("offline"), r.report());
  }

  @Test
  void aStoreHoldingANewerCheckpointRefusesAnOlderInconsistentOne() throws Exception {
    OciImage app = OciImage.fromLayout(LAYOUT, "app");
    TrustPolicy good = policy(policyJson());
    CheckpointStore store = new CheckpointStore(tmp.resolve("store"));
    // History A: the chain after 8 filler leaves, seen first (size 11).
    Bundle newer = bundle(vectorLeaves(), 8);
    assertTrue(new ChainVerifier(good).verify(app, newer, store, null).ok());
    List<byte[]> aLeaves = new ArrayList<>();
    for (int i = 0; i < 8; i++) aLeaves.add(new byte[] {(byte) i});
    aLeaves.addAll(vectorLeaves());
    NaiveTree a = new NaiveTree(aLeaves.stream().map(Hashes::leafHash).toList());
    ProofBuilder aProofs =
        new ProofBuilder(
            (level, index) -> a.mth((int) (index << level), (int) ((index + 1) << level)));
    CheckpointStore.ConsistencyProver honestA = (from, to) -> aProofs.consistency(from, to);

    // An older checkpoint from another history (2 filler leaves where A has 8): inconsistent.
    Bundle older = bundle(vectorLeaves(), 2);
    ChainVerifier.Result r = new ChainVerifier(good).verify(app, older, store, honestA);
    assertFalse(
        r.ok(), "size 5 is not a prefix of history A (its filler differs), so it must be refused");
    assertTrue(String.join(" ", r.logFailures()).contains("not consistent"), r.report());
    assertEquals(
        11, store.stored(good.logVerifier()).orElseThrow().size(), "the newer checkpoint stays");
  }

  @Test
  void aWitnessQuorumIsEnforced() throws Exception {
    OciImage app = OciImage.fromLayout(LAYOUT, "app");
    Ed25519NoteKeys.Signer w1 =
        Ed25519NoteKeys.generate("w1.test", Ed25519NoteKeys.COSIGNATURE, new SecureRandom());
    Ed25519NoteKeys.Signer w2 =
        Ed25519NoteKeys.generate("w2.test", Ed25519NoteKeys.COSIGNATURE, new SecureRandom());
    ObjectNode json = policyJson();
    json.putObject("witnesses")
        .put("quorum", 2)
        .putArray("verifier_keys")
        .add(w1.verifier().vkey())
        .add(w2.verifier().vkey());
    TrustPolicy p = policy(json);
    Bundle b = bundle(vectorLeaves(), 0);
    ChainVerifier.Result none = new ChainVerifier(p).verify(app, b, null, null);
    assertFalse(none.ok());
    assertTrue(
        String.join(" ", none.logFailures()).contains("0 valid witness cosignature"),
        none.report());
    SignedNote note = SignedNote.parse(b.checkpointNote());
    byte[] text = note.text().getBytes(StandardCharsets.UTF_8);
    SignedNote one =
        note.withSignature(new SignedNote.Signature(w1.name(), w1.keyId(), w1.sign(text)));
    ChainVerifier.Result r1 =
        new ChainVerifier(p).verify(app, new Bundle(one.format(), b.links()), null, null);
    assertTrue(
        String.join(" ", r1.logFailures()).contains("1 valid witness cosignature"), r1.report());
    SignedNote two =
        one.withSignature(new SignedNote.Signature(w2.name(), w2.keyId(), w2.sign(text)));
    assertTrue(
        new ChainVerifier(p).verify(app, new Bundle(two.format(), b.links()), null, null).ok());
  }
}
