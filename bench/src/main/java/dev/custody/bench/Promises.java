package dev.custody.bench;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.ConsistencyProof;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Proofs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a log promises, checked as an outside client checks it: every acknowledgement carries a
 * valid inclusion proof to a validly signed checkpoint; every acknowledged entry stays at its index
 * with the same leaf; no size is ever signed with two roots; every checkpoint handed out is
 * consistent with every later one; resubmitting an acknowledged entry finds it. Shared by the crash
 * and failover campaigns. Thread-safe: submitters record acknowledgements concurrently.
 */
final class Promises {
  record Ack(long index, ByteString leaf, ByteString leafHash) {}

  private final CheckpointVerifier verifier;
  final Map<Long, Ack> acked = new ConcurrentHashMap<>();
  final Map<Long, String> checkpoints =
      new ConcurrentHashMap<>(); // size -> a signed note handed out for it
  final List<String> violations = Collections.synchronizedList(new ArrayList<>());

  Promises(CheckpointVerifier verifier) {
    this.verifier = verifier;
  }

  void violation(String what) {
    violations.add(what);
    System.out.println("VIOLATION: " + what);
  }

  CheckpointVerifier verifier() {
    return verifier;
  }

  /** The size of a checkpoint, after checking its signature. */
  long size(String note) throws Exception {
    return verifier.verify(note).size();
  }

  /** Checks an acknowledgement's proof and records it (and its checkpoint). */
  void acknowledged(LogEntry e) {
    try {
      InclusionProof ip = e.getInclusionProof();
      Checkpoint cp = verifier.verify(ip.getCheckpoint().getSignedNote());
      Proofs.verifyInclusion(
          e.getIndex(),
          ip.getTreeSize(),
          e.getLeafHash().toByteArray(),
          ip.getHashesList().stream().map(ByteString::toByteArray).toList(),
          cp.rootHash());
      Ack before = acked.put(e.getIndex(), new Ack(e.getIndex(), e.getLeaf(), e.getLeafHash()));
      if (before != null && !before.leaf().equals(e.getLeaf()))
        violation("index " + e.getIndex() + " acknowledged twice");
      sameRoot(ip.getTreeSize(), ip.getCheckpoint().getSignedNote());
    } catch (Exception ex) {
      violation("acknowledgement of index " + e.getIndex() + " does not verify: " + ex);
    }
  }

  /**
   * Records a checkpoint seen for {@code size}; a different root for a size seen before is a fork.
   */
  void sameRoot(long size, String note) throws Exception {
    String prev = checkpoints.putIfAbsent(size, note);
    if (prev != null
        && !prev.equals(note)
        && !Arrays.equals(verifier.verify(prev).rootHash(), verifier.verify(note).rootHash())) {
      violation("two roots signed for size " + size);
    }
  }

  /**
   * Checks one server (or cluster node) against everything recorded: its checkpoint, every
   * acknowledged entry at its index, dedup (when {@code probeDedup}: it submits), and consistency
   * of every checkpoint seen with its current one.
   *
   * @param who names the server in violations
   * @return the server's current checkpoint
   */
  Checkpoint check(
      String who, TransparencyLogGrpc.TransparencyLogBlockingStub log, boolean probeDedup)
      throws Exception {
    String note = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote();
    Checkpoint now = verifier.verify(note);
    List<Long> indices = new ArrayList<>(acked.keySet());
    Collections.sort(indices);
    if (!indices.isEmpty() && indices.get(indices.size() - 1) >= now.size()) {
      violation(
          who
              + ": acknowledged entry "
              + indices.get(indices.size() - 1)
              + " beyond the size "
              + now.size());
    }
    long seen = 0;
    for (long start = 0; start < now.size(); ) {
      Iterator<LogEntry> it =
          log.getEntries(GetEntriesRequest.newBuilder().setStart(start).setEnd(now.size()).build());
      while (it.hasNext()) {
        LogEntry e = it.next();
        Ack a = acked.get(e.getIndex());
        if (a != null) {
          seen++;
          if (!a.leaf().equals(e.getLeaf()))
            violation(who + ": entry " + e.getIndex() + " changed");
        }
        start = e.getIndex() + 1;
      }
    }
    if (seen != acked.size())
      violation(who + ": " + (acked.size() - seen) + " acknowledged entries missing");
    if (probeDedup) {
      int probes = Math.min(20, indices.size());
      for (int k = 0; k < probes; k++) {
        Ack a = acked.get(indices.get(k * indices.size() / probes));
        LogEntry again = log.submit(SubmitRequest.newBuilder().setEntry(a.leaf()).build());
        if (!again.getDuplicate() || again.getIndex() != a.index())
          violation(who + ": dedup lost entry " + a.index());
        InclusionProof byHash =
            log.getInclusionProof(
                GetInclusionProofRequest.newBuilder().setLeafHash(a.leafHash()).build());
        if (byHash.getIndex() != a.index())
          violation(who + ": leaf-hash lookup lost entry " + a.index());
      }
    }
    sameRoot(now.size(), note);
    for (Map.Entry<Long, String> c : checkpoints.entrySet()) {
      Checkpoint old = verifier.verify(c.getValue());
      if (old.size() == 0 || old.size() >= now.size()) continue;
      try {
        ConsistencyProof p =
            log.getConsistencyProof(
                GetConsistencyProofRequest.newBuilder()
                    .setFromSize(old.size())
                    .setToSize(now.size())
                    .build());
        Proofs.verifyConsistency(
            old.size(),
            now.size(),
            p.getHashesList().stream().map(ByteString::toByteArray).toList(),
            old.rootHash(),
            now.rootHash());
      } catch (Exception e) {
        violation(
            who
                + ": checkpoint at size "
                + old.size()
                + " is not consistent with size "
                + now.size()
                + ": "
                + e);
      }
    }
    return now;
  }
}
