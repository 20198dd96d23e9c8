package dev.custody.server.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.custody.api.v1.Checkpoint;
import dev.custody.api.v1.ConsistencyProof;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.api.v1.SubmitBatchResponse;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.server.admission.Admission;
import dev.custody.server.admission.AdmissionException;
import dev.custody.server.admission.CheckPool;
import dev.custody.server.metrics.ServerMetrics;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.read.LogReader;
import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.Sequencer;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.witness.Cosigning;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * custody.v1.TransparencyLog. Handlers run on the transport's threads (the server uses a direct
 * executor); the work that waits — the group commit, long entry streams — finishes on {@code
 * worker}. Every number from the wire is checked against the published head before use.
 */
public final class TransparencyLogService extends TransparencyLogGrpc.TransparencyLogImplBase {
  private static final Logger LOG = Logger.getLogger(TransparencyLogService.class.getName());
  public static final int MAX_ENTRIES_PER_CALL = 10_000;

  private final Admission admission;
  private final Sequencer sequencer;
  private final Cosigning cosigning;
  private final LogReader reader;
  private final Supplier<LogInfo> info;
  private final Executor worker;
  private final CheckPool checks;
  private final ServerMetrics metrics;
  private final Executor diskReads;

  /**
   * @param worker proofs for acknowledgements and entry streams (bounded by the sequencer's queue)
   * @param checks admission's signature checks; bounded, so that a standing flood is refused, not
   *     buffered
   * @param diskReads proofs that need the disk: threads that may wait for it, so that the event
   *     loops never do
   */
  public TransparencyLogService(
      Admission admission,
      Sequencer sequencer,
      Cosigning cosigning,
      LogReader reader,
      Supplier<LogInfo> info,
      Executor worker,
      CheckPool checks,
      ServerMetrics metrics,
      Executor diskReads) {
    this.diskReads = diskReads;
    this.checks = checks;
    this.admission = admission;
    this.sequencer = sequencer;
    this.cosigning = cosigning;
    this.reader = reader;
    this.info = info;
    this.worker = worker;
    this.metrics = metrics;
    this.batches = new BatchSubmission(admission, sequencer, checks, reader, worker, this::count);
  }

  private final BatchSubmission batches;

  @Override
  public void submitBatch(SubmitBatchRequest req, StreamObserver<SubmitBatchResponse> out) {
    batches.submit(req, out);
  }

  /**
   * Longest a submission waits for this node to catch up with its cluster before its predecessor
   * counts as missing.
   */
  private static final long CATCH_UP_SECONDS = 5;

  private void count(String result) {
    metrics.submissions(result).inc();
  }

  @Override
  public void submit(SubmitRequest req, StreamObserver<LogEntry> out) {
    byte[] entry = req.getEntry().toByteArray();
    if (admission.cheap() || entry.length > admission.maxEntryBytes()) {
      admitThenSequence(
          entry, out); // no signature check to wait for: an oversize entry is refused at once
    } else {
      // Signature checks are the costly part of the write path: run them in parallel, off the
      // transport.
      checks.execute(
          () -> admitThenSequence(entry, out),
          refused -> {
            if (refused instanceof OverloadedException) count("rejected_overloaded");
            Statuses.fail(out, refused);
          });
    }
  }

  private void admitThenSequence(byte[] entry, StreamObserver<LogEntry> out) {
    admitThenSequence(entry, out, true);
  }

  /**
   * @param mayWait whether a missing predecessor may first wait for this node to catch up with its
   *     cluster (the link below may be acknowledged by the leader and not yet applied here)
   */
  private void admitThenSequence(byte[] entry, StreamObserver<LogEntry> out, boolean mayWait) {
    Admitted admitted;
    try {
      admitted = admission.admit(entry);
    } catch (AdmissionException e) {
      if (e instanceof AdmissionException.MissingPredecessor && mayWait && sequencer.mayLag()) {
        // Once, on a replica: a read barrier, then the same checks again.
        sequencer
            .caughtUp()
            .orTimeout(CATCH_UP_SECONDS, TimeUnit.SECONDS)
            .whenCompleteAsync((ok, err) -> admitThenSequence(entry, out, false), worker);
        return;
      }
      count(
          e instanceof AdmissionException.MissingPredecessor
              ? "rejected_missing_predecessor"
              : "rejected_invalid");
      Statuses.fail(out, e);
      return;
    } catch (RuntimeException e) {
      Statuses.fail(out, e);
      return;
    }
    sequencer
        .add(admitted)
        .whenCompleteAsync(
            (s, err) -> {
              if (err != null) {
                Throwable cause =
                    err instanceof CompletionException && err.getCause() != null
                        ? err.getCause()
                        : err;
                count(cause instanceof OverloadedException ? "rejected_overloaded" : "failed");
                Statuses.fail(out, err);
                return;
              }
              count(s.duplicate() ? "duplicate" : "appended");
              try {
                LogEntry.Builder e =
                    entry(s.index(), s.leaf(), s.leafHash())
                        .setDuplicate(s.duplicate())
                        .setInclusionProof(inclusion(reader, s.index(), s.checkpoint()));
                respond(out, e.build());
              } catch (RuntimeException ex) {
                Statuses.fail(out, ex);
              }
            },
            worker);
  }

  @Override
  public void getCheckpoint(GetCheckpointRequest req, StreamObserver<Checkpoint> out) {
    respond(out, checkpoint(cosigning.served()));
  }

  @Override
  public void getLogInfo(GetLogInfoRequest req, StreamObserver<LogInfo> out) {
    respond(out, info.get());
  }

  @Override
  public void getInclusionProof(GetInclusionProofRequest req, StreamObserver<InclusionProof> out) {
    try {
      SignedCheckpoint head = sequencer.head();
      long size = treeSize(req.getTreeSize(), head, "tree_size");
      long index;
      switch (req.getLeafCase()) {
        case INDEX -> {
          index = req.getIndex();
          if (index < 0) throw invalid("index " + index + " is negative");
          if (index >= size)
            throw outOfRange("index " + index + " is not in a tree of size " + size);
        }
        case LEAF_HASH -> {
          byte[] h = req.getLeafHash().toByteArray();
          if (h.length != Hashes.SIZE)
            throw invalid("leaf_hash is " + h.length + " bytes; a leaf hash is 32 bytes");
          OptionalLong found = reader.indexOfLeafHash(h);
          if (found.isEmpty())
            throw Status.NOT_FOUND
                .withDescription("no entry in this log has that leaf hash")
                .asRuntimeException();
          index = found.getAsLong();
          if (index >= size)
            throw outOfRange("that leaf is at index " + index + ", not in a tree of size " + size);
        }
        default -> throw invalid("set either index or leaf_hash");
      }
      SignedCheckpoint signed = size == head.size() ? head : reader.checkpointAt(size).orElse(null);
      long leaf = index;
      answer(
          out,
          proofs -> {
            InclusionProof.Builder p =
                InclusionProof.newBuilder()
                    .setIndex(leaf)
                    .setTreeSize(size)
                    .addAllHashes(bytes(proofs.inclusion(leaf, size)));
            if (signed != null) {
              p.setRootHash(ByteString.copyFrom(signed.checkpoint().rootHash()))
                  .setCheckpoint(checkpoint(signed));
            } else {
              p.setRootHash(ByteString.copyFrom(proofs.root(size)));
            }
            return p.build();
          });
    } catch (RuntimeException e) {
      Statuses.fail(out, e);
    }
  }

  @Override
  public void getConsistencyProof(
      GetConsistencyProofRequest req, StreamObserver<ConsistencyProof> out) {
    try {
      SignedCheckpoint head = sequencer.head();
      long from = req.getFromSize();
      if (from < 1) {
        throw invalid(
            "from_size must be at least 1 (every tree extends the empty tree; there is nothing to prove)");
      }
      long to = treeSize(req.getToSize(), head, "to_size");
      if (from > to) throw invalid("from_size " + from + " is larger than to_size " + to);
      answer(
          out,
          proofs ->
              ConsistencyProof.newBuilder()
                  .setFromSize(from)
                  .setToSize(to)
                  .addAllHashes(bytes(proofs.consistency(from, to)))
                  .build());
    } catch (RuntimeException e) {
      Statuses.fail(out, e);
    }
  }

  /**
   * Answers on this thread (a network event loop) when every read the answer needs is in memory, as
   * nearly all are once the caches are warm; otherwise on a disk-reads thread, so that one proof
   * waiting for the disk never holds up the other calls of its connection.
   */
  private <T> void answer(StreamObserver<T> out, Function<LogReader.Proofs, T> answer) {
    T fast;
    try {
      fast = answer.apply(reader.fromMemory());
    } catch (LogStorage.NotInMemoryException needsDisk) {
      try {
        diskReads.execute(
            () -> {
              try {
                respond(out, answer.apply(reader.mayWait()));
              } catch (RuntimeException e) {
                Statuses.fail(out, e);
              }
            });
      } catch (RejectedExecutionException full) {
        Statuses.fail(
            out,
            new OverloadedException(
                "the log has too many proofs waiting for its disk; retry with backoff"));
      }
      return;
    }
    respond(out, fast);
  }

  @Override
  public void getEntries(GetEntriesRequest req, StreamObserver<LogEntry> plain) {
    ServerCallStreamObserver<LogEntry> out = (ServerCallStreamObserver<LogEntry>) plain;
    long size = sequencer.head().size();
    long start = req.getStart();
    long end = req.getEnd();
    try {
      if (start < 0) throw invalid("start " + start + " is negative");
      if (end <= start)
        throw invalid(
            "end " + end + " must be greater than start " + start + " (end is exclusive)");
      if (start >= size) throw outOfRange("start " + start + " is not below the tree size " + size);
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    long last = Math.min(Math.min(end, size), start + MAX_ENTRIES_PER_CALL);
    new EntryStream(out, reader, worker, EntryStream.range(start, last)).begin();
  }

  static InclusionProof inclusion(LogReader reader, long index, SignedCheckpoint cp) {
    return proofAt(reader, index, cp).setCheckpoint(checkpoint(cp)).build();
  }

  /** The proof of {@code index} in {@code cp}'s tree, without the checkpoint itself. */
  static InclusionProof.Builder proofAt(LogReader reader, long index, SignedCheckpoint cp) {
    return proofOf(index, cp, reader.inclusion(index, cp.size()));
  }

  /** The proof of {@code index} in {@code cp}'s tree from its path, without the checkpoint. */
  static InclusionProof.Builder proofOf(long index, SignedCheckpoint cp, List<byte[]> path) {
    return InclusionProof.newBuilder()
        .setIndex(index)
        .setTreeSize(cp.size())
        .setRootHash(ByteString.copyFrom(cp.checkpoint().rootHash()))
        .addAllHashes(bytes(path));
  }

  private static long treeSize(long requested, SignedCheckpoint head, String field) {
    if (requested < 0) throw invalid(field + " " + requested + " is negative");
    long size = requested == 0 ? head.size() : requested;
    if (size > head.size())
      throw outOfRange(field + " " + size + " is beyond the log's size " + head.size());
    if (size == 0) throw outOfRange("the log is empty; there is nothing to prove yet");
    return size;
  }

  static Checkpoint checkpoint(Cosigning.Served s) {
    return checkpoint(s.checkpoint()).toBuilder()
        .setSignedNote(s.note())
        .setWitnessCosignatures(s.cosignatures())
        .setWitnessQuorum(s.quorum())
        .build();
  }

  static Checkpoint checkpoint(SignedCheckpoint cp) {
    return Checkpoint.newBuilder()
        .setSignedNote(cp.note())
        .setTreeSize(cp.size())
        .setRootHash(ByteString.copyFrom(cp.checkpoint().rootHash()))
        .build();
  }

  static LogEntry.Builder entry(long index, byte[] leaf, byte[] leafHash) {
    return LogEntry.newBuilder()
        .setIndex(index)
        .setLeaf(ByteString.copyFrom(leaf))
        .setLeafHash(ByteString.copyFrom(leafHash));
  }

  /**
   * Proof hashes as protobuf bytes, without a copy: no node array is ever written after it is made.
   */
  static List<ByteString> bytes(List<byte[]> hashes) {
    return hashes.stream().map(UnsafeByteOperations::unsafeWrap).toList();
  }

  static StatusRuntimeException invalid(String msg) {
    return Status.INVALID_ARGUMENT.withDescription(msg).asRuntimeException();
  }

  private static StatusRuntimeException outOfRange(String msg) {
    return Status.OUT_OF_RANGE.withDescription(msg).asRuntimeException();
  }

  static <T> void respond(StreamObserver<T> out, T value) {
    try {
      out.onNext(value);
      out.onCompleted();
    } catch (StatusRuntimeException e) {
      // The caller cancelled or its deadline passed; there is no one left to tell.
    }
  }
}
