package dev.custody.verify;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.io.DurableFiles;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * The newest checkpoint this client has seen, per log, in a directory (one file per origin). A
 * checkpoint is accepted only if proved consistent with the stored one; a newer one replaces it.
 * This is what turns a log that shows different histories to different people into an error.
 */
public final class CheckpointStore {
  /** Fetches a consistency proof between two sizes, from the log or a mirror. */
  @FunctionalInterface
  public interface ConsistencyProver {
    List<byte[]> prove(long fromSize, long toSize) throws Exception;
  }

  private final Path dir;

  public CheckpointStore(Path dir) {
    this.dir = dir;
  }

  public Optional<Checkpoint> stored(CheckpointVerifier log)
      throws IOException, CheckpointException {
    Path f = file(log.origin());
    if (!Files.exists(f)) return Optional.empty();
    // Ours, checked when stored: a key rotated away since then must not make our own record
    // unreadable.
    return Optional.of(log.readOwn(Files.readString(f, StandardCharsets.UTF_8)));
  }

  /**
   * Checks {@code note} (already verified by the caller as {@code cp}) against the stored
   * checkpoint, and stores it if it is newer.
   *
   * @param prover null when offline: then only an equal-size checkpoint can be checked
   */
  public void accept(CheckpointVerifier log, Checkpoint cp, String note, ConsistencyProver prover)
      throws IOException, CheckpointException {
    // Read, check and replace under one lock: verifiers running at once must not undo each other's
    // updates.
    try {
      DurableFiles.locked(
          dir.resolve(".lock"),
          () -> {
            try {
              acceptLocked(log, cp, note, prover);
            } catch (CheckpointException e) {
              throw new Refused(e);
            }
            return null;
          });
    } catch (Refused r) {
      throw r.reason;
    }
  }

  /** Carries a CheckpointException out of the locked section. */
  private static final class Refused extends IOException {
    final CheckpointException reason;

    Refused(CheckpointException reason) {
      super(reason.getMessage(), reason);
      this.reason = reason;
    }
  }

  private void acceptLocked(
      CheckpointVerifier log, Checkpoint cp, String note, ConsistencyProver prover)
      throws IOException, CheckpointException {
    Optional<Checkpoint> old = stored(log);
    if (old.isPresent()) {
      Checkpoint o = old.get();
      if (o.size() == cp.size()) {
        if (!Arrays.equals(o.rootHash(), cp.rootHash())) {
          anotherLog(log);
          throw new CheckpointException(
              "the log signed two different roots for size " + cp.size() + ": it forked");
        }
        return;
      }
      if (cp.size() > 0 && o.size() > 0) {
        Checkpoint small = o.size() < cp.size() ? o : cp;
        Checkpoint large = o.size() < cp.size() ? cp : o;
        if (prover == null) {
          throw new CheckpointException(
              "cannot prove offline that this checkpoint (size "
                  + cp.size()
                  + ") is consistent with the one seen before (size "
                  + o.size()
                  + "); verify online once");
        }
        try {
          Proofs.verifyConsistency(
              small.size(),
              large.size(),
              prover.prove(small.size(), large.size()),
              small.rootHash(),
              large.rootHash());
        } catch (ProofException e) {
          anotherLog(log);
          throw new CheckpointException(
              "checkpoint of size "
                  + cp.size()
                  + " is not consistent with the one seen before"
                  + " (size "
                  + o.size()
                  + "): "
                  + e.getMessage());
        } catch (Exception e) {
          throw new CheckpointException("could not get a consistency proof: " + e.getMessage(), e);
        }
      }
      if (cp.size() < o.size()) return; // older but consistent: keep the newer one
    }
    DurableFiles.replace(
        file(log.origin()), note.getBytes(StandardCharsets.UTF_8), DurableFiles.PUBLIC);
  }

  /**
   * Throws when the remembered checkpoint of this origin was not signed by any key the policy lists
   * for the log (in any validity window): then a disagreement is with another log that uses the
   * same origin (a log started afresh after its data was wiped, a second log on one host), not
   * proof that the trusted log forked, and the message says so and what to do.
   */
  private void anotherLog(CheckpointVerifier log) throws IOException, CheckpointException {
    Path f = file(log.origin());
    String remembered = Files.readString(f, StandardCharsets.UTF_8);
    try {
      SignedNote.parse(remembered)
          .verify(log.keys().stream().map(CheckpointVerifier.LogKey::key).toList());
    } catch (NoteException notByThisLog) {
      throw new CheckpointException(
          "the checkpoint remembered for \""
              + log.origin()
              + "\" ("
              + f
              + ") was signed by a key the policy does not list for this log: it comes from "
              + "another log with the same origin (one started afresh, or a second log), not "
              + "from a fork of this one. If you now trust this log, delete that file (or give "
              + "another --checkpoint-store) and verify again");
    }
  }

  private Path file(String origin) {
    return dir.resolve(
        HexFormat.of().formatHex(Hashes.sha256(origin.getBytes(StandardCharsets.UTF_8)))
            + ".checkpoint");
  }
}
