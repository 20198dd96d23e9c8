package dev.custody.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofBuilder;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.note.Base64s;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import dev.custody.oci.OciImage;
import dev.custody.testing.NaiveTree;
import dev.custody.testing.VectorChain;
import dev.custody.tiles.EntryBundle;
import dev.custody.tiles.TileClient;
import dev.custody.tiles.TilePath;
import dev.custody.verify.Bundle;
import dev.custody.verify.PolicyException;
import dev.custody.verify.TrustPolicy;
import dev.custody.witness.Witness;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;

/**
 * Every parser of outside bytes, under Jazzer. In a normal test run each target replays its seed
 * corpus (src/test/resources/…/ParserFuzzTestInputs/<target>/, taken from the shared vectors and
 * valid objects); {@code fuzz/run.sh} fuzzes each for real. A target passes only if the parser
 * answers with its own checked exception, never anything else, and never accepts nonsense.
 */
class ParserFuzzTest {
  private static final Ed25519NoteKeys.Signer LOG =
      Ed25519NoteKeys.signerFromSeed("fuzz.test/log", new byte[32]);

  @FuzzTest(maxDuration = "5s")
  void signedLink(byte[] data) {
    try {
      SignedLink l = SignedLink.parse(data);
      l.verifySignature();
      // Whatever parses must re-encode to exactly the same bytes.
      assertEquals(HexFormat.of().formatHex(data), HexFormat.of().formatHex(l.encoded()));
    } catch (LinkException expected) {
      // refused with a reason
    }
  }

  @FuzzTest(maxDuration = "5s")
  void leaf(byte[] data) {
    try {
      Leaf l = Leaf.parse(data);
      assertEquals(HexFormat.of().formatHex(data), HexFormat.of().formatHex(l.encode()));
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
    for (int i = 0; i < n && in.remainingBytes() > 0; i++)
      proof.add(in.consumeBytes(in.consumeBoolean() ? 32 : 31));
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
      witness =
          new Witness(
              Ed25519NoteKeys.generate(
                  "fuzz.test/w", Ed25519NoteKeys.COSIGNATURE, new SecureRandom()),
              Map.of(LOG.name(), List.of(LOG.verifier())),
              dir);
    }
    Witness.Response r = witness.addCheckpoint(body);
    if (!Set.of(200, 400, 403, 404, 409, 422).contains(r.status()))
      throw new AssertionError("status " + r.status());
  }

  @FuzzTest(maxDuration = "5s")
  void statement(byte[] data) {
    try {
      Statement st = Statement.parse(data);
      assertArrayEquals(
          data, st.encode(), "a statement that parses encodes back to the same bytes");
    } catch (LinkException refused) {
      // refused
    }
  }

  private static final Ed25519NoteKeys.Signer WITNESS =
      Ed25519NoteKeys.generate("fuzz.test/w2", Ed25519NoteKeys.COSIGNATURE, new SecureRandom());
  private static final String LOG_NOTE =
      SignedNote.sign(new Checkpoint(LOG.name(), 9, new byte[32]).text(), LOG).format();

  /**
   * Verifier keys and cosignature lines from outside: no line a witness did not make verifies as
   * its cosignature.
   */
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

  // ---- Hostile input the parsers above do not reach: the fuzzers reach it.

  private static Path layoutDir;

  /**
   * A whole OCI layout from fuzz bytes, read from a folder: only LinkException, never a hang, never
   * too much read.
   */
  @FuzzTest(maxDuration = "5s")
  void layoutFolder(FuzzedDataProvider in) throws Exception {
    if (layoutDir == null) layoutDir = Files.createTempDirectory("fuzz-layout");
    Path blobs = layoutDir.resolve("blobs/sha256");
    if (Files.exists(blobs)) {
      try (var old = Files.list(blobs)) {
        for (Path f : (Iterable<Path>) old::iterator) Files.delete(f);
      }
    }
    Files.createDirectories(blobs);
    byte[] layer = in.consumeBytes(in.consumeInt(0, 512));
    if (in.consumeBoolean()) layer = gzip(layer);
    byte[] config =
        in.consumeBoolean()
            ? ("{\"rootfs\":{\"diff_ids\":[\"" + dev.custody.chain.Digest.sha256Of(layer) + "\"]}}")
                .getBytes(StandardCharsets.UTF_8)
            : in.consumeBytes(in.consumeInt(0, 256));
    String layerDigest = Digest.sha256Of(layer).toString();
    String manifestText =
        "{\"config\":{\"digest\":\""
            + Digest.sha256Of(config)
            + "\",\"size\":"
            + (in.consumeBoolean() ? config.length : in.consumeInt(-1, 1 << 20))
            + "},\"layers\":[{\"mediaType\":\""
            + in.pickValue(
                List.of(
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                    "application/vnd.oci.image.layer.v1.tar",
                    "application/vnd.oci.image.layer.v1.tar+zstd",
                    in.consumeString(20)))
            + "\",\"digest\":\""
            + layerDigest
            + "\",\"size\":"
            + (in.consumeBoolean() ? layer.length : in.consumeLong(-5, 1L << 40))
            + "}]}";
    byte[] manifest =
        in.consumeBoolean() ? manifestText.getBytes(StandardCharsets.UTF_8) : in.consumeBytes(300);
    for (byte[] b : List.of(layer, config, manifest)) {
      Files.write(blobs.resolve(Digest.sha256Of(b).toString().substring(7)), b);
    }
    if (in.consumeBoolean()) { // a blob replaced by a link out of the layout
      Path victim = blobs.resolve(layerDigest.substring(7));
      Files.delete(victim);
      Files.createSymbolicLink(
          victim, Path.of(in.pickValue(List.of("/dev/zero", "/etc/hostname", "../../index.json"))));
    }
    String index =
        in.consumeBoolean()
            ? "{\"manifests\":[{\"digest\":\""
                + Digest.sha256Of(manifest)
                + "\",\"size\":"
                + manifest.length
                + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"app\"}}]}"
            : in.consumeRemainingAsString();
    Files.writeString(layoutDir.resolve("index.json"), index);
    try {
      OciImage img = OciImage.fromLayout(layoutDir, "app");
      img.checkLayerBlobs(layoutDir, 1 << 16);
    } catch (LinkException refused) {
      // refused with a reason
    }
  }

  private static byte[] gzip(byte[] b) throws IOException {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(o)) {
      g.write(b);
    }
    return o.toByteArray();
  }

  /**
   * A small real log served as tiles: what a mirror should serve, before the fuzzer changes one
   * resource.
   */
  private static final class MirrorLog {
    final Map<String, byte[]> files = new HashMap<>();
    final List<byte[]> entries = new ArrayList<>();
    final long size;

    MirrorLog(int n) {
      this.size = n;
      List<byte[]> hashes = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        byte[] e = ("entry " + i).getBytes(StandardCharsets.UTF_8);
        entries.add(e);
        hashes.add(Hashes.leafHash(e));
      }
      // Level 0 tiles and bundles, and level 1 (tiles of full level-0 tile roots).
      List<byte[]> level1 = new ArrayList<>();
      for (int t = 0; t * 256 < n; t++) {
        int w = Math.min(256, n - t * 256);
        ByteArrayOutputStream tile = new ByteArrayOutputStream();
        for (int k = 0; k < w; k++) tile.writeBytes(hashes.get(t * 256 + k));
        files.put(TilePath.tile(0, t, w).format(), tile.toByteArray());
        files.put(
            TilePath.entries(t, w).format(),
            EntryBundle.encode(entries.subList(t * 256, t * 256 + w)));
        if (w == 256) level1.add(NaiveTree.rootOf(hashes.subList(t * 256, t * 256 + 256)));
      }
      if (!level1.isEmpty()) {
        ByteArrayOutputStream tile = new ByteArrayOutputStream();
        level1.forEach(tile::writeBytes);
        files.put(TilePath.tile(1, 0, level1.size()).format(), tile.toByteArray());
      }
      byte[] root = NaiveTree.rootOf(hashes);
      files.put(
          "checkpoint",
          SignedNote.sign(new Checkpoint(LOG.name(), n, root).text(), LOG)
              .format()
              .getBytes(StandardCharsets.UTF_8));
    }
  }

  private static final MirrorLog MIRROR = new MirrorLog(600);

  /**
   * The tile client and the monitor against a mirror that changes or drops one resource: whatever
   * it serves, what the client returns without an error is the true log, and the monitor never
   * throws anything but an IOException.
   */
  @FuzzTest(maxDuration = "5s")
  void tileClientAgainstAMutatingMirror(FuzzedDataProvider in) throws Exception {
    List<String> paths = new ArrayList<>(new TreeSet<>(MIRROR.files.keySet()));
    String changed = in.pickValue(paths);
    boolean drop = in.consumeBoolean();
    byte[] replacement = in.consumeRemainingAsBytes();
    TileClient.Fetcher fetcher =
        path -> {
          if (path.equals(changed)) return drop ? Optional.empty() : Optional.of(replacement);
          return Optional.ofNullable(MIRROR.files.get(path));
        };
    CheckpointVerifier v = new CheckpointVerifier(LOG.name(), LOG.verifier());
    TileClient client = new TileClient(fetcher, v);
    try {
      SignedCheckpoint cp = client.checkpoint();
      TileClient.Tree tree = client.tree(cp.checkpoint());
      for (long b = 0; b * 256 < tree.size(); b++) {
        List<byte[]> got = tree.entries(b);
        for (int k = 0; k < got.size(); k++) {
          assertArrayEquals(
              MIRROR.entries.get((int) (b * 256 + k)), got.get(k), "a changed entry was accepted");
        }
      }
      assertEquals(MIRROR.size, tree.size(), "the tree is the log's");
    } catch (IOException | CheckpointException | UncheckedIOException refused) {
      // refused: the mirror's fault or the log's, said as such
    }
  }

  /** Policies whose JSON has a field of the wrong type must be refused, not read with a default. */
  @FuzzTest(maxDuration = "5s")
  void policySemantics(FuzzedDataProvider in) {
    String vkey = LOG.verifier().vkey();
    String repos =
        in.pickValue(
            List.of(
                "[\"registry.example/a/*\"]",
                "\"registry.example/a/*\"",
                "7",
                "null",
                "[]",
                "[1]",
                "{}",
                in.consumeString(12)));
    String quorum =
        in.pickValue(List.of("0", "\"two\"", "1.5", "-1", "true", "null", in.consumeString(6)));
    String min =
        in.pickValue(List.of("0", "\"0\"", "1e3", "-3", "4294967296", in.consumeString(5)));
    String extra =
        in.pickValue(List.of("", ", \"repositoris\": []", ", \"name\": 3", ", \"witness\": 1"));
    String json =
        "{\"log\": {\"origin\": \"fuzz.test/log\", \"verifier_key\": \""
            + vkey
            + "\"}, \"signers\": [{"
            + "\"key_id\": \""
            + "ab".repeat(32)
            + "\", \"repositories\": "
            + repos
            + ", \"layers\": {\"min\": "
            + min
            + "}"
            + extra
            + "}], \"witnesses\": {\"quorum\": "
            + quorum
            + ", \"verifier_keys\": []}}";
    boolean wellTyped = wellTyped(json);
    try {
      TrustPolicy.parse(json.getBytes(StandardCharsets.UTF_8));
      if (!wellTyped)
        throw new AssertionError(
            "a policy with a wrong type or an unknown field was accepted:\n" + json);
    } catch (PolicyException refused) {
      if (wellTyped)
        throw new AssertionError(
            "a well-typed policy was refused: " + refused.getMessage() + "\n" + json);
    }
  }

  /**
   * The oracle, from the policy format's definition, on a tree Jackson reads apart from the parser
   * under test (strictly: no trailing tokens, no duplicate keys).
   */
  private static boolean wellTyped(String json) {
    JsonNode root;
    try {
      root =
          new ObjectMapper()
              .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
              .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
              .readTree(json);
    } catch (Exception e) {
      return false;
    }
    if (!onlyFields(root, "log", "signers", "witnesses") || !root.path("signers").isArray())
      return false;
    for (JsonNode sg : root.get("signers")) {
      if (!onlyFields(sg, "key_id", "repositories", "layers", "name")) return false;
      JsonNode r = sg.get("repositories");
      if (r != null && !r.isNull()) {
        if (!r.isArray()) return false;
        for (JsonNode e : r) if (!e.isTextual() || e.asText().isEmpty()) return false;
      }
      JsonNode l = sg.get("layers");
      if (l != null && !l.isNull()) {
        if (!onlyFields(l, "min", "max")) return false;
        JsonNode m = l.get("min");
        if (m != null
            && !m.isNull()
            && !(m.isIntegralNumber()
                && m.canConvertToLong()
                && m.asLong() >= 0
                && m.asLong() <= 0xffffffffL)) {
          return false;
        }
      }
      if (sg.has("name")
          && !sg.get("name").isNull()
          && !(sg.get("name").isTextual() && !sg.get("name").asText().isEmpty())) {
        return false;
      }
    }
    JsonNode w = root.get("witnesses");
    if (w != null && !w.isNull()) {
      if (!onlyFields(w, "quorum", "verifier_keys")) return false;
      JsonNode q = w.get("quorum");
      if (q != null
          && !q.isNull()
          && !(q.isIntegralNumber() && q.canConvertToLong() && q.asLong() == 0)) return false;
    }
    return true;
  }

  private static boolean onlyFields(JsonNode n, String... allowed) {
    if (n == null || !n.isObject()) return false;
    List<String> ok = List.of(allowed);
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); )
      if (!ok.contains(it.next())) return false;
    return true;
  }

  private static Witness signedWitness;
  private static final List<byte[]> WITNESS_LEAVES = new ArrayList<>();

  /**
   * The witness with checkpoints the log really signed, so that its state and proof code is
   * reached.
   */
  @FuzzTest(maxDuration = "5s")
  void witnessWithSignedCheckpoints(FuzzedDataProvider in) throws Exception {
    if (signedWitness == null) {
      signedWitness =
          new Witness(
              Ed25519NoteKeys.generate(
                  "fuzz.test/w3", Ed25519NoteKeys.COSIGNATURE, new SecureRandom()),
              Map.of(LOG.name(), List.of(LOG.verifier())),
              Files.createTempDirectory("fuzz-w3"));
      for (int i = 0; i < 64; i++) WITNESS_LEAVES.add(Hashes.leafHash(new byte[] {(byte) i}));
    }
    int size = in.consumeInt(1, 64);
    int old = in.consumeInt(0, 70);
    byte[] root =
        in.consumeBoolean()
            ? NaiveTree.rootOf(WITNESS_LEAVES.subList(0, size))
            : in.consumeBytes(32);
    if (root.length != 32) return;
    String note = SignedNote.sign(new Checkpoint(LOG.name(), size, root).text(), LOG).format();
    StringBuilder body = new StringBuilder("old ").append(old).append('\n');
    if (in.consumeBoolean() && old > 0 && old < size) {
      NaiveTree t = new NaiveTree(WITNESS_LEAVES.subList(0, size));
      for (byte[] h :
          new ProofBuilder(
                  (level, index) -> t.mth((int) (index << level), (int) ((index + 1) << level)))
              .consistency(old, size)) {
        body.append(Base64s.encode(h)).append('\n');
      }
    } else {
      int n = in.consumeInt(0, 8);
      for (int k = 0; k < n; k++) body.append(Base64s.encode(in.consumeBytes(32))).append('\n');
    }
    body.append('\n').append(note);
    Witness.Response r =
        signedWitness.addCheckpoint(body.toString().getBytes(StandardCharsets.UTF_8));
    if (!Set.of(200, 400, 403, 404, 409, 422).contains(r.status()))
      throw new AssertionError("status " + r.status());
  }

  private static final LinkKeys.Signer EC = LinkKeys.generate(LinkKeys.Scheme.ECDSA_P256_SHA256);
  private static final byte[] EC_MESSAGE = "fuzz ecdsa".getBytes(StandardCharsets.UTF_8);
  private static final byte[] EC_SIG = EC.sign(EC_MESSAGE);
  private static final LinkVerifier FASTEST = LinkVerifier.fastest();

  /**
   * ECDSA encodings, high S among them: both verifiers give one verdict, and a high S never
   * verifies.
   */
  @FuzzTest(maxDuration = "5s")
  void ecdsaSignatures(FuzzedDataProvider in) {
    byte[] sig;
    switch (in.consumeInt(0, 2)) {
      case 0 -> sig = in.consumeRemainingAsBytes();
      case 1 -> {
        sig = EC_SIG.clone();
        int flips = in.consumeInt(1, 4);
        for (int k = 0; k < flips && sig.length > 0; k++)
          sig[in.consumeInt(0, sig.length - 1)] ^= (byte) in.consumeInt(1, 255);
      }
      default -> {
        // The malleable twin: as valid arithmetically as the signer's own, and refused.
        sig = VectorChain.twinSignature(EC_SIG);
        assertEquals(
            false,
            FASTEST.verify(LinkKeys.Scheme.ECDSA_P256_SHA256, EC.publicKey(), EC_MESSAGE, sig),
            "a high-S signature verified");
      }
    }
    boolean bc =
        LinkVerifier.bouncyCastle()
            .verify(LinkKeys.Scheme.ECDSA_P256_SHA256, EC.publicKey(), EC_MESSAGE, sig);
    boolean fast =
        FASTEST.verify(LinkKeys.Scheme.ECDSA_P256_SHA256, EC.publicKey(), EC_MESSAGE, sig);
    assertEquals(bc, fast, "verifiers disagree on " + HexFormat.of().formatHex(sig));
    if (bc) assertArrayEquals(EC_SIG, sig, "only the signer's own signature verifies");
  }
}
