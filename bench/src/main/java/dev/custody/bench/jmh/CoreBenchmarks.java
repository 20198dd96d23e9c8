package dev.custody.bench.jmh;

import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.CompactRange;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofBuilder;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Micro-benchmarks of the pure core: hashing, compact-range appends, proofs from an in-memory node
 * map and their verification, checkpoint notes, link parse + signature checks. {@code java -jar
 * bench/target/custody-bench.jar jmh} runs them (see BenchMain).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CoreBenchmarks {
  @Param({"10000"})
  public int treeSize;

  private byte[] left;
  private byte[] right;
  private byte[] leaf;
  private CompactRange range;
  private ProofBuilder proofs;
  private byte[] root;
  private byte[] leafHash;
  private List<byte[]> inclusion;
  private List<byte[]> consistency;
  private byte[] rootHalf;
  private Ed25519NoteKeys.Signer logKey;
  private CheckpointVerifier checkpoints;
  private String note;
  private byte[] edLink;
  private byte[] ecLink;
  private int index;

  @Setup(Level.Trial)
  public void setup() {
    left = Hashes.sha256(new byte[] {1});
    right = Hashes.sha256(new byte[] {2});
    leaf = new byte[300];
    Map<Long, byte[]> nodes = new HashMap<>();
    CompactRange r = CompactRange.empty();
    CompactRange half = null;
    for (int i = 0; i < treeSize; i++) {
      if (i == treeSize / 2) half = r;
      r =
          r.append(
              Hashes.leafHash(new byte[] {(byte) i, (byte) (i >> 8), (byte) (i >> 16)}),
              (lv, idx, h) -> nodes.put(((long) lv << 40) | idx, h));
    }
    range = r;
    root = r.root();
    rootHalf = half.root();
    proofs = new ProofBuilder((lv, idx) -> nodes.get(((long) lv << 40) | idx));
    index = treeSize / 3;
    leafHash = nodes.get((long) index);
    inclusion = proofs.inclusion(index, treeSize);
    consistency = proofs.consistency(treeSize / 2, treeSize);
    logKey = Ed25519NoteKeys.generate("bench.custody.dev/log", new SecureRandom());
    checkpoints = new CheckpointVerifier(logKey.name(), logKey.verifier());
    note = SignedNote.sign(new Checkpoint(logKey.name(), treeSize, root).text(), logKey).format();
    Digest d = Digest.sha256Of(new byte[] {3});
    Statement s =
        new Statement(
            "registry.example/bench/app",
            Digest.sha256Of(new byte[] {4}),
            0,
            d,
            d,
            d,
            Statement.NO_PREDECESSOR,
            1_764_288_000_000L);
    edLink = SignedLink.sign(s, LinkKeys.generate(LinkKeys.Scheme.ED25519)).encoded();
    ecLink = SignedLink.sign(s, LinkKeys.generate(LinkKeys.Scheme.ECDSA_P256_SHA256)).encoded();
  }

  @Benchmark
  public byte[] leafHash() {
    return Hashes.leafHash(leaf);
  }

  @Benchmark
  public byte[] nodeHash() {
    return Hashes.nodeHash(left, right);
  }

  @Benchmark
  public CompactRange compactRangeAppend() {
    return range.append(left, (lv, idx, h) -> {});
  }

  @Benchmark
  public List<byte[]> inclusionProofFromNodes() {
    return proofs.inclusion(index, treeSize);
  }

  @Benchmark
  public byte[] verifyInclusion() throws ProofException {
    return Proofs.rootFromInclusion(index, treeSize, leafHash, inclusion);
  }

  @Benchmark
  public void verifyConsistency() throws ProofException {
    Proofs.verifyConsistency(treeSize / 2, treeSize, consistency, rootHalf, root);
  }

  @Benchmark
  public String signCheckpoint() {
    return SignedNote.sign(new Checkpoint(logKey.name(), treeSize, root).text(), logKey).format();
  }

  @Benchmark
  public Checkpoint verifyCheckpoint() throws Exception {
    return checkpoints.verify(note);
  }

  @Benchmark
  public SignedLink parseAndVerifyEd25519Link() throws Exception {
    SignedLink l = SignedLink.parse(edLink);
    l.verifySignature();
    return l;
  }

  @Benchmark
  public SignedLink parseAndVerifyEcdsaP256Link() throws Exception {
    SignedLink l = SignedLink.parse(ecLink);
    l.verifySignature();
    return l;
  }
}
