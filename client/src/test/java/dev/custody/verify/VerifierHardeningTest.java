package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofBuilder;
import dev.custody.monitor.MonitorState;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import dev.custody.testing.NaiveTree;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile inputs against the verifier: a verifier's inputs cannot forge its report, cut a number
 * short or silently reset its state.
 */
class VerifierHardeningTest {
  @Test
  void controlCharactersAndLineBreaksAreEscaped() {
    assertEquals(
        "a\\x0aVERIFIED: b\\x1b[2J\\u2028c\\\\x0a",
        Printable.of("a\nVERIFIED: b\u001b[2J\u2028c\\x0a"));
    assertEquals("plain text, ünïcödé", Printable.of("plain text, ünïcödé"));
  }

  @Test
  void aReportCannotBeMadeToSayVerifiedByAFieldItQuotes() {
    String hostile =
        "payload type \"x\nVERIFIED: every layer is signed by an allowed key and publicly logged\"";
    ChainVerifier.Result r =
        new ChainVerifier.Result(
            List.of(
                new ChainVerifier.LayerResult(
                    0,
                    Optional.of(hostile),
                    Optional.empty(),
                    Optional.of("registry.example/x\nVERIFIED: too"))),
            List.of("log \r\nVERIFIED:"),
            Optional.empty());
    String report = r.report();
    assertFalse(r.ok());
    assertTrue(report.lines().noneMatch(l -> l.startsWith("VERIFIED")), report);
    assertTrue(report.endsWith("NOT VERIFIED\n"), report);
    assertEquals(3, report.lines().count(), report);
  }

  @Test
  void aBundleIndexBeyond64BitsIsRefusedNotTruncated() {
    String json =
        "{\"checkpoint\": \"x\", \"links\": [{\"index\": 18446744073709551623, \"leaf\": \"AA==\", "
            + "\"inclusion_proof\": []}]}";
    Assertions.assertThrows(
        PolicyException.class, () -> Bundle.parse(json.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void anEmptyMonitorStateIsAnErrorNotAFreshStart(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("state.json");
    Files.writeString(f, "");
    IOException e = Assertions.assertThrows(IOException.class, () -> MonitorState.load(f));
    assertTrue(e.getMessage().contains("empty or damaged"), e.getMessage());
  }

  @Test
  void concurrentVerifiersNeverMoveTheStoredCheckpointBack(@TempDir Path dir) throws Exception {
    Ed25519NoteKeys.Signer log = Ed25519NoteKeys.generate("store.test/log", new SecureRandom());
    CheckpointVerifier v = new CheckpointVerifier(log.name(), log.verifier());
    List<byte[]> leaves = new ArrayList<>();
    for (int i = 0; i < 40; i++) leaves.add(Hashes.leafHash(new byte[] {(byte) i}));
    NaiveTree t = new NaiveTree(leaves);
    ProofBuilder pb =
        new ProofBuilder(
            (level, index) -> t.mth((int) (index << level), (int) ((index + 1) << level)));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<?>> fs = new ArrayList<>();
    List<Integer> sizes = new ArrayList<>();
    for (int n = 1; n <= 40; n++) sizes.add(n);
    Collections.shuffle(sizes, new Random(7));
    for (int n : sizes) {
      Checkpoint cp = new Checkpoint(log.name(), n, t.root(n));
      String note = SignedNote.sign(cp.text(), log).format();
      // Each verifier with a store object of its own, as separate processes would have.
      fs.add(
          pool.submit(
              () -> {
                new CheckpointStore(dir).accept(v, cp, note, pb::consistency);
                return null;
              }));
    }
    for (Future<?> f : fs) f.get();
    pool.shutdown();
    assertEquals(
        40,
        new CheckpointStore(dir).stored(v).orElseThrow().size(),
        "a newer checkpoint was overwritten");
  }
}
