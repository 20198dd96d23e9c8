package dev.custody.server.api;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.Refusal;
import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.api.v1.SubmitBatchResponse;
import dev.custody.api.v1.SubmitResult;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.server.admission.Admission;
import dev.custody.server.admission.AdmissionException;
import dev.custody.server.admission.CheckPool;
import dev.custody.server.pushback.OverloadedException;
import dev.custody.server.pushback.PushbackException;
import dev.custody.server.read.LogReader;
import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.Sequenced;
import dev.custody.server.sequencer.Sequencer;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * SubmitBatch: up to {@link #MAX_ENTRIES} entries in one call. Every entry is admitted on the check
 * threads at once (a link's predecessor may be an earlier entry of the request); then the admitted
 * entries are logged in request order in one commit ({@link Sequencer#addInOneCommit}: one group
 * commit on a single node, one Raft entry in a cluster), so that a whole chain is logged at once
 * and the log never holds a link before the link below it. When the sequencer cannot promise that
 * (an entry of the request is on its way for another caller) they are sequenced in waves, an entry
 * only after the entry of the request it stands on was logged. Every answer's proof is against one
 * checkpoint, the largest any of the request's commits signed.
 *
 * <p>An entry is refused alone, with its reason; only pushback (a standing queue, a log that cannot
 * write, shutting down) refuses the whole call, so that clients retry it with backoff.
 */
final class BatchSubmission {
  /** Entries in one request. */
  static final int MAX_ENTRIES = 1024;

  /** Bytes of entries in one request (the transport takes a little more, for the framing). */
  static final int MAX_BYTES = 256 * 1024;

  private final Admission admission;
  private final Sequencer sequencer;
  private final CheckPool checks;
  private final LogReader reader;
  private final Executor worker;
  private final Consumer<String> count;

  BatchSubmission(
      Admission admission,
      Sequencer sequencer,
      CheckPool checks,
      LogReader reader,
      Executor worker,
      Consumer<String> count) {
    this.admission = admission;
    this.sequencer = sequencer;
    this.checks = checks;
    this.reader = reader;
    this.worker = worker;
    this.count = count;
  }

  void submit(SubmitBatchRequest req, StreamObserver<SubmitBatchResponse> out) {
    int n = req.getEntriesCount();
    if (n == 0 || n > MAX_ENTRIES) {
      Statuses.fail(
          out,
          TransparencyLogService.invalid(
              "a batch holds 1 to " + MAX_ENTRIES + " entries; this one holds " + n));
      return;
    }
    long bytes = 0;
    for (ByteString e : req.getEntriesList()) bytes += e.size();
    if (bytes > MAX_BYTES) {
      Statuses.fail(
          out,
          TransparencyLogService.invalid(
              "a batch holds at most "
                  + MAX_BYTES
                  + " bytes of entries; this one holds "
                  + bytes
                  + " (send it in smaller batches)"));
      return;
    }
    List<byte[]> entries = new ArrayList<>(n);
    for (ByteString e : req.getEntriesList()) entries.add(e.toByteArray());
    new Call(entries, out).admitAll();
  }

  /** One request in flight: what each entry has come to so far. */
  private final class Call {
    private final List<byte[]> entries;
    private final StreamObserver<SubmitBatchResponse> out;
    private final int n;
    private final Map<ByteBuffer, Integer> firstById = new HashMap<>();
    private final Admitted[] admitted;
    private final Throwable[] refused;
    private final Sequenced[] sequenced;

    /** The position of the entry of this request an entry stands on, or -1. */
    private final int[] below;

    private final AtomicInteger unchecked;
    private final AtomicReference<RuntimeException> pushback = new AtomicReference<>();

    Call(List<byte[]> entries, StreamObserver<SubmitBatchResponse> out) {
      this.entries = entries;
      this.out = out;
      this.n = entries.size();
      this.admitted = new Admitted[n];
      this.refused = new Throwable[n];
      this.sequenced = new Sequenced[n];
      this.below = new int[n];
      Arrays.fill(below, -1);
      this.unchecked = new AtomicInteger(n);
      for (int i = 0; i < n; i++) {
        int position = i;
        admission
            .idOf(entries.get(i))
            .ifPresent(id -> firstById.putIfAbsent(ByteBuffer.wrap(id), position));
      }
    }

    void admitAll() {
      for (int i = 0; i < n; i++) {
        int position = i;
        Runnable admit =
            () -> {
              admitOne(position);
              if (unchecked.decrementAndGet() == 0) sequenceWaves();
            };
        if (admission.cheap()) {
          admit.run();
        } else {
          checks.execute(
              admit,
              refusedByPool -> {
                pushback.compareAndSet(null, refusedByPool);
                if (unchecked.decrementAndGet() == 0) sequenceWaves();
              });
        }
      }
    }

    /** Runs on a check thread; writes only this entry's slots. */
    private void admitOne(int i) {
      Admission.Earlier earlier =
          id -> {
            Integer j = firstById.get(ByteBuffer.wrap(id));
            if (j == null || j >= i) return Optional.empty(); // only earlier entries count
            below[i] = j;
            return Optional.of(entries.get(j));
          };
      try {
        admitted[i] = admission.admit(entries.get(i), earlier);
      } catch (AdmissionException | RuntimeException e) {
        refused[i] = e;
      }
    }

    /**
     * After every check: the admitted entries in one commit when the sequencer can promise it, else
     * in waves, each after the one below it.
     */
    private void sequenceWaves() {
      if (pushback.get() != null) {
        fail(pushback.get());
        return;
      }
      if (sequenceInOneCommit()) return;
      int[] wave = new int[n];
      int last = 0;
      for (int i = 0; i < n; i++) {
        wave[i] = below[i] < 0 ? 0 : wave[below[i]] + 1;
        last = Math.max(last, wave[i]);
      }
      sequence(0, last, wave);
    }

    /**
     * The admitted entries whose links below (in this request) were admitted too, in request order
     * (an entry stands only on an earlier one, so the order puts every link after the one below
     * it), as one group; false when the sequencer cannot promise one commit for it.
     */
    private boolean sequenceInOneCommit() {
      boolean[] in = new boolean[n];
      List<Integer> positions = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if (admitted[i] == null) continue;
        if (below[i] >= 0 && !in[below[i]])
          continue; // refused in waves, below, if it comes to that
        in[i] = true;
        positions.add(i);
      }
      if (positions.isEmpty()) return false;
      Optional<List<CompletableFuture<Sequenced>>> one =
          sequencer.addInOneCommit(positions.stream().map(i -> admitted[i]).toList());
      if (one.isEmpty()) return false;
      for (int i = 0; i < n; i++) {
        if (admitted[i] != null && !in[i]) refused[i] = belowNotLogged(i);
      }
      List<CompletableFuture<?>> adds = new ArrayList<>();
      for (int k = 0; k < positions.size(); k++)
        adds.add(record(positions.get(k), one.get().get(k)));
      CompletableFuture.allOf(adds.toArray(CompletableFuture[]::new))
          .whenCompleteAsync(
              (ok, err) -> {
                if (pushback.get() != null) {
                  fail(pushback.get());
                } else {
                  answer();
                }
              },
              worker);
      return true;
    }

    private AdmissionException.MissingPredecessor belowNotLogged(int i) {
      return new AdmissionException.MissingPredecessor(
          "the link it stands on (entry "
              + below[i]
              + " of this request) was not logged, so neither is this one");
    }

    /** Notes what became of the entry at {@code position} when {@code f} completes. */
    private CompletableFuture<Sequenced> record(int position, CompletableFuture<Sequenced> f) {
      return f.whenComplete(
          (s, err) -> {
            if (err == null) {
              sequenced[position] = s;
              return;
            }
            Throwable cause =
                err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
            if (cause instanceof PushbackException p) pushback.compareAndSet(null, p);
            refused[position] = cause;
          });
    }

    private void sequence(int w, int last, int[] wave) {
      List<CompletableFuture<?>> adds = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if (wave[i] != w || admitted[i] == null) continue;
        if (below[i] >= 0 && sequenced[below[i]] == null) {
          refused[i] = belowNotLogged(i);
          continue;
        }
        adds.add(record(i, sequencer.add(admitted[i])));
      }
      CompletableFuture.allOf(adds.toArray(CompletableFuture[]::new))
          .whenCompleteAsync(
              (ok, err) -> {
                if (pushback.get() != null) {
                  fail(pushback.get());
                } else if (w < last) {
                  sequence(w + 1, last, wave);
                } else {
                  answer();
                }
              },
              worker);
    }

    private void fail(RuntimeException p) {
      if (p instanceof OverloadedException) count.accept("rejected_overloaded");
      Statuses.fail(out, p);
    }

    /** On a worker thread: every proof against the largest checkpoint any commit signed. */
    private void answer() {
      try {
        SignedCheckpoint cp = sequencer.head();
        Optional<SignedCheckpoint> largest =
            Arrays.stream(sequenced)
                .filter(s -> s != null)
                .map(Sequenced::checkpoint)
                .max((a, b) -> Long.compare(a.size(), b.size()));
        if (largest.isPresent()) cp = largest.get();
        SubmitBatchResponse.Builder r =
            SubmitBatchResponse.newBuilder().setCheckpoint(TransparencyLogService.checkpoint(cp));
        // Every proof against the one checkpoint, in one pass over the tree.
        long[] indices =
            Arrays.stream(sequenced).filter(s -> s != null).mapToLong(Sequenced::index).toArray();
        List<List<byte[]>> paths = reader.inclusions(indices, cp.size());
        int proved = 0;
        for (int i = 0; i < n; i++) {
          Sequenced s = sequenced[i];
          if (s != null) {
            count.accept(s.duplicate() ? "duplicate" : "appended");
            // The response carries the checkpoint once, not once per proof.
            InclusionProof proof =
                TransparencyLogService.proofOf(s.index(), cp, paths.get(proved++)).build();
            LogEntry e =
                TransparencyLogService.entry(s.index(), s.leaf(), s.leafHash())
                    .setDuplicate(s.duplicate())
                    .setInclusionProof(proof)
                    .build();
            r.addResults(SubmitResult.newBuilder().setEntry(e));
          } else {
            Throwable why = refused[i];
            count.accept(
                why instanceof AdmissionException.MissingPredecessor
                    ? "rejected_missing_predecessor"
                    : why instanceof AdmissionException ? "rejected_invalid" : "failed");
            Status status = Statuses.of(why);
            r.addResults(
                SubmitResult.newBuilder()
                    .setRefused(
                        Refusal.newBuilder()
                            .setCode(status.getCode().value())
                            .setMessage(String.valueOf(status.getDescription()))));
          }
        }
        TransparencyLogService.respond(out, r.build());
      } catch (RuntimeException e) {
        Statuses.fail(out, e);
      }
    }
  }
}
