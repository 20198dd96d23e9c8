package dev.custody.server;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.Checkpoint;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogInfo;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.guard.Guard;
import dev.custody.server.guard.StandingQueue;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** Shared set-up for the server's tests: real RocksDB in a temp dir, real gRPC on loopback. */
final class TestLogs {
  private TestLogs() {}

  /**
   * The default guard with a 10 s pushback interval: tests that push thousands of concurrent
   * submissions at once but are not about overload must not be refused on a loaded CI machine
   * (AdmissionRuleTest, PushbackTest and StandingQueueTest test the rule itself).
   */
  static final Guard PATIENT =
      new Guard(Optional.empty(), 0, 0, 60, false, new StandingQueue.Rule(50, 10_000));

  static ServerConfig config(Path dir) {
    return ServerConfig.builder(dir)
        .origin("test.custody.dev/log")
        .grpcPort(0)
        .httpPort(-1)
        .acceptAnyEntry(true)
        .guard(PATIENT)
        .build();
  }

  static CheckpointVerifier verifier(LogInfo info) throws Exception {
    return new CheckpointVerifier(
        info.getOrigin(), Ed25519NoteKeys.parseVerifierKey(info.getVerifierKey()));
  }

  /**
   * Verifies an inclusion proof exactly as a client would: signed checkpoint first, then the path.
   */
  static dev.custody.checkpoint.Checkpoint verifyInclusion(
      CheckpointVerifier v, byte[] leafHash, InclusionProof p) throws Exception {
    dev.custody.checkpoint.Checkpoint cp = v.verify(p.getCheckpoint().getSignedNote());
    if (cp.size() != p.getTreeSize())
      throw new AssertionError(
          "checkpoint size " + cp.size() + " != proof size " + p.getTreeSize());
    Proofs.verifyInclusion(
        p.getIndex(), p.getTreeSize(), leafHash, hashes(p.getHashesList()), cp.rootHash());
    return cp;
  }

  static List<byte[]> hashes(List<ByteString> l) {
    return l.stream().map(ByteString::toByteArray).toList();
  }

  static dev.custody.checkpoint.Checkpoint open(CheckpointVerifier v, Checkpoint c)
      throws Exception {
    dev.custody.checkpoint.Checkpoint cp = v.verify(c.getSignedNote());
    if (cp.size() != c.getTreeSize()
        || !Arrays.equals(cp.rootHash(), c.getRootHash().toByteArray())) {
      throw new ProofException("checkpoint fields disagree with its signed note");
    }
    return cp;
  }
}
