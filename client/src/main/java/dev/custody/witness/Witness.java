package dev.custody.witness;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.io.DurableFiles;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.note.NoteVerifier;
import dev.custody.note.SignedNote;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A C2SP tlog-witness: checks that each checkpoint a log submits is signed by the log and
 * consistent with the last one it cosigned for that origin, then cosigns it (C2SP tlog-cosignature,
 * Ed25519). The check and the update of its state are atomic per origin, and the state is on disk
 * (one file per origin, written and synced before answering).
 */
public final class Witness {
  /** An HTTP answer: status, content type and body. */
  public record Response(int status, String contentType, byte[] body) {
    public static Response text(int status, String body) {
      return new Response(
          status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }
  }

  /**
   * At most 63 proof lines (spec), each a short line; a checkpoint with many signatures fits
   * easily.
   */
  public static final int MAX_REQUEST_BYTES = 1 << 20;

  private final Ed25519NoteKeys.Signer key;
  private final Map<String, List<NoteVerifier>> logs;
  private final Path stateDir;
  private final Map<String, Object> locks = new ConcurrentHashMap<>();

  /**
   * @param logs trusted log keys by origin; a log rotating its key has two for a while, and a
   *     checkpoint signed by either is accepted
   */
  public Witness(Ed25519NoteKeys.Signer key, Map<String, List<NoteVerifier>> logs, Path stateDir)
      throws IOException {
    if (key.type() != Ed25519NoteKeys.COSIGNATURE)
      throw new IllegalArgumentException("a witness signs with a cosigner (type 0x04) key");
    this.key = key;
    Map<String, List<NoteVerifier>> copy = new HashMap<>();
    logs.forEach(
        (origin, keys) -> {
          if (keys.isEmpty()) throw new IllegalArgumentException("no key for the log " + origin);
          copy.put(origin, List.copyOf(keys));
        });
    this.logs = Map.copyOf(copy);
    this.stateDir = stateDir;
    Files.createDirectories(stateDir);
  }

  public String verifierKey() {
    return key.verifier().vkey();
  }

  /** POST add-checkpoint. */
  public Response addCheckpoint(byte[] body) {
    if (body.length > MAX_REQUEST_BYTES) return Response.text(400, "request too large\n");
    AddCheckpoint request;
    try {
      request = AddCheckpoint.parse(body);
    } catch (AddCheckpoint.Malformed e) {
      return Response.text(400, e.getMessage() + "\n");
    }
    long oldSize = request.oldSize();
    List<byte[]> proof = request.proof();
    SignedNote note;
    Checkpoint cp;
    try {
      note = SignedNote.parse(request.note());
      cp = Checkpoint.parse(note.text());
    } catch (NoteException | CheckpointException e) {
      return Response.text(400, "malformed checkpoint: " + e.getMessage() + "\n");
    }
    List<NoteVerifier> logKey = logs.get(cp.origin());
    if (logKey == null) return Response.text(404, "unknown log origin\n");
    try {
      note.verify(logKey);
    } catch (NoteException e) {
      return Response.text(
          403, "checkpoint is not signed by the log's key: " + e.getMessage() + "\n");
    }
    if (oldSize > cp.size())
      return Response.text(400, "old size is larger than the checkpoint's size\n");
    synchronized (locks.computeIfAbsent(cp.origin(), o -> new Object())) {
      Optional<Checkpoint> latest;
      try {
        latest = latest(cp.origin());
      } catch (IOException | NoteException | CheckpointException e) {
        return Response.text(500, "the witness cannot read its own state\n");
      }
      long latestSize = latest.map(Checkpoint::size).orElse(0L);
      if (oldSize != latestSize) {
        return new Response(
            409,
            "text/x.tlog.size",
            AddCheckpoint.conflict(latestSize).getBytes(StandardCharsets.US_ASCII));
      }
      if (cp.size() == 0 && !Arrays.equals(cp.rootHash(), Hashes.emptyRoot())) {
        return Response.text(422, "a checkpoint of size 0 must have the empty tree's root\n");
      }
      if (oldSize == 0) {
        if (!proof.isEmpty())
          return Response.text(422, "the consistency proof from size 0 must be empty\n");
      } else {
        try {
          Proofs.verifyConsistency(
              oldSize, cp.size(), proof, latest.get().rootHash(), cp.rootHash());
        } catch (ProofException e) {
          return Response.text(
              422,
              "not consistent with the checkpoint of size "
                  + oldSize
                  + " cosigned before: "
                  + e.getMessage()
                  + "\n");
        }
      }
      try {
        persist(cp.origin(), request.note());
      } catch (IOException e) {
        return Response.text(500, "the witness cannot store its state\n");
      }
    }
    byte[] text = note.text().getBytes(StandardCharsets.UTF_8);
    SignedNote.Signature cosig = new SignedNote.Signature(key.name(), key.keyId(), key.sign(text));
    String line =
        new SignedNote(note.text(), List.of(cosig)).format().substring(note.text().length() + 1);
    return new Response(200, "text/plain; charset=utf-8", line.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The last checkpoint this witness cosigned for {@code origin}: its own record, whose log
   * signature was checked before it was written, perhaps by a key the log has since retired.
   */
  private Optional<Checkpoint> latest(String origin)
      throws IOException, NoteException, CheckpointException {
    Path f = file(origin);
    if (!Files.exists(f)) return Optional.empty();
    return Optional.of(Checkpoint.ofNote(Files.readString(f, StandardCharsets.UTF_8)));
  }

  private void persist(String origin, String note) throws IOException {
    DurableFiles.replace(file(origin), note.getBytes(StandardCharsets.UTF_8), DurableFiles.PUBLIC);
  }

  private Path file(String origin) {
    return stateDir.resolve(
        HexFormat.of().formatHex(Hashes.sha256(origin.getBytes(StandardCharsets.UTF_8)))
            + ".checkpoint");
  }
}
