package dev.custody.server.witness;

import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.http.BoundedHttp;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import dev.custody.server.metrics.ServerMetrics;
import dev.custody.server.read.LogReader;
import dev.custody.serving.Daemons;
import dev.custody.witness.AddCheckpoint;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Gathers witness cosignatures (C2SP tlog-witness) for the log's checkpoints, beside the write
 * path: it follows the published head, asks every witness in parallel with the consistency proof
 * from the size that witness last cosigned, checks each cosignature, and publishes the checkpoint
 * with the cosignatures it got. A slow or dead witness costs its own request and nothing else:
 * appends never wait for witnesses.
 */
public final class Cosigning implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Cosigning.class.getName());

  /** A witness: its add-checkpoint URL prefix and its cosigner key. */
  public record WitnessConfig(URI prefix, Ed25519NoteKeys.Verifier key) {
    public static WitnessConfig parse(String spec) throws NoteException {
      int eq = spec.indexOf('=');
      if (eq < 0) throw new IllegalArgumentException("a witness is URL=VKEY, not " + spec);
      Ed25519NoteKeys.Verifier v = Ed25519NoteKeys.parseVerifierKey(spec.substring(eq + 1));
      if (v.type() != Ed25519NoteKeys.COSIGNATURE)
        throw new IllegalArgumentException("witness key must be a cosigner (type 0x04) vkey");
      return new WitnessConfig(URI.create(spec.substring(0, eq)), v);
    }
  }

  /** A checkpoint as served: the log's note plus the cosignature lines gathered for it. */
  public record Served(
      SignedCheckpoint checkpoint, String note, int cosignatures, boolean quorum) {}

  private final List<WitnessConfig> witnesses;
  private final long[] knownSize;
  private final List<Future<String>> pending;
  private final int quorum;
  private final LogReader reader;
  private final Supplier<SignedCheckpoint> head;
  private final ServerMetrics metrics;

  /** A witness answers with a few cosignature lines; more than this is not a witness's answer. */
  static final int MAX_RESPONSE_BYTES = 64 * 1024;

  /** The whole exchange with one witness, headers and body. */
  static final Duration REQUEST_DEADLINE = Duration.ofSeconds(10);

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
  private final ExecutorService requests;
  private final ScheduledExecutorService loop;
  private volatile Served latest;
  private volatile Served latestWithQuorum;

  public Cosigning(
      List<WitnessConfig> witnesses,
      int quorum,
      LogReader reader,
      Supplier<SignedCheckpoint> head,
      ServerMetrics metrics) {
    if (quorum < 0 || quorum > witnesses.size())
      throw new IllegalArgumentException("witness quorum must be 0.." + witnesses.size());
    this.witnesses = List.copyOf(witnesses);
    this.knownSize = new long[witnesses.size()];
    this.pending = new ArrayList<>(Collections.nCopies(witnesses.size(), (Future<String>) null));
    this.quorum = quorum;
    this.reader = reader;
    this.head = head;
    this.metrics = metrics;
    this.requests = Executors.newCachedThreadPool(Daemons.named("custody-witness-request"));
    this.loop = Executors.newSingleThreadScheduledExecutor(Daemons.named("custody-cosigning"));
    if (!witnesses.isEmpty())
      loop.scheduleWithFixedDelay(this::round, 0, 200, TimeUnit.MILLISECONDS);
  }

  /**
   * What to serve as the latest checkpoint: the head, with the cosignatures gathered for it so far.
   */
  public Served served() {
    SignedCheckpoint h = head.get();
    Served l = latest;
    if (l != null && l.checkpoint.size() == h.size() && l.checkpoint.note().equals(h.note()))
      return l;
    return new Served(h, h.note(), 0, quorum == 0);
  }

  /** The newest checkpoint that met the quorum, if any; the head itself when no quorum is asked. */
  public Served withQuorum() {
    return quorum == 0 ? served() : latestWithQuorum;
  }

  private void round() {
    SignedCheckpoint h = head.get();
    Served l = latest;
    if (l != null && l.checkpoint.note().equals(h.note())) return;
    List<Future<String>> answers = new ArrayList<>();
    for (int i = 0; i < witnesses.size(); i++) {
      int w = i;
      // A witness still busy with an earlier request is not asked again, so a slow one never
      // piles up requests or holds a thread another witness needs.
      if (pending.get(w) != null && !pending.get(w).isDone()) continue;
      Future<String> f = requests.submit(() -> ask(w, h));
      pending.set(w, f);
      answers.add(f);
    }
    StringBuilder lines = new StringBuilder();
    int count = 0;
    // The round publishes what it has after a few seconds: one slow witness delays nobody's
    // cosignatures.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    for (Future<String> f : answers) {
      try {
        String line = f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line != null) {
          lines.append(line);
          count++;
        }
      } catch (Exception e) {
        // Still waiting: it stays pending and its answer, if any, is for a checkpoint already old.
      }
    }
    Served s = new Served(h, h.note() + lines, count, count >= quorum);
    latest = s;
    if (s.quorum) latestWithQuorum = s;
  }

  /** One witness's cosignature line for this checkpoint, or null. */
  private String ask(int w, SignedCheckpoint h) {
    WitnessConfig c = witnesses.get(w);
    for (int attempt = 0; attempt < 2; attempt++) {
      long old = knownSize[w];
      if (old > h.size()) old = 0; // cannot happen with an honest witness; start over
      byte[] body =
          new AddCheckpoint(
                  old,
                  old > 0 && old < h.size() ? reader.consistency(old, h.size()) : List.of(),
                  h.note())
              .encode();
      try {
        // A witness is someone else's server: its answer is read within one deadline and one size
        // cap.
        BoundedHttp.Response r =
            BoundedHttp.send(
                http,
                HttpRequest.newBuilder(c.prefix.resolve("add-checkpoint"))
                    .timeout(REQUEST_DEADLINE)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                    .build(),
                MAX_RESPONSE_BYTES,
                REQUEST_DEADLINE);
        String text = r.text();
        OptionalLong theirs = AddCheckpoint.parseConflict(text);
        if (r.status() == 409 && theirs.isPresent()) {
          knownSize[w] = theirs.getAsLong();
          count(c, "conflict");
          continue; // once more, from the size the witness really has
        }
        if (r.status() != 200) {
          count(
              c, r.status() >= 100 && r.status() < 600 ? "status_" + r.status() : "status_invalid");
          LOG.warning(
              "witness "
                  + c.prefix
                  + " answered "
                  + r.status()
                  + ": "
                  + BoundedHttp.excerpt(r.body()));
          return null;
        }
        String line = cosignatureFrom(text, c, h);
        if (line == null) {
          count(c, "bad_cosignature");
          return null;
        }
        knownSize[w] = h.size();
        count(c, "ok");
        return line;
      } catch (BoundedHttp.TooLargeException e) {
        count(c, "too_large");
        LOG.warning("witness " + c.prefix + ": " + e.getMessage());
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      } catch (Exception e) {
        count(c, "unreachable");
        LOG.log(Level.FINE, "witness " + c.prefix + " unreachable", e);
        return null;
      }
    }
    return null;
  }

  /** The line of the response that is a valid cosignature by this witness on this checkpoint. */
  private static String cosignatureFrom(String body, WitnessConfig c, SignedCheckpoint h) {
    for (String line : body.split("\n")) {
      if (line.isEmpty()) continue;
      try {
        SignedNote.parse(h.note() + line + "\n").verify(List.of(c.key));
        // verify() passing means this note holds a valid signature by the witness; keep that line.
        if (line.startsWith("\u2014 " + c.key.name() + " ")) return line + "\n";
      } catch (NoteException notThis) {
        // another witness's line, or junk
      }
    }
    return null;
  }

  private void count(WitnessConfig c, String result) {
    metrics.witnessRequests(c.key.name(), result).inc();
  }

  @Override
  public void close() {
    loop.shutdownNow();
    requests.shutdownNow();
  }
}
