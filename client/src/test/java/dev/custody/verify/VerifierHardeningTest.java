package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Issue 16, item 12: a verifier's inputs cannot forge its report, cut a number short or silently
 * reset its state.
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
    org.junit.jupiter.api.Assertions.assertThrows(
        PolicyException.class,
        () -> Bundle.parse(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Test
  void anEmptyMonitorStateIsAnErrorNotAFreshStart(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path f = dir.resolve("state.json");
    java.nio.file.Files.writeString(f, "");
    java.io.IOException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            java.io.IOException.class, () -> dev.custody.monitor.MonitorState.load(f));
    assertTrue(e.getMessage().contains("empty or damaged"), e.getMessage());
  }

  @Test
  void concurrentVerifiersNeverMoveTheStoredCheckpointBack(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    dev.custody.note.Ed25519NoteKeys.Signer log =
        dev.custody.note.Ed25519NoteKeys.generate(
            "store.test/log", new java.security.SecureRandom());
    dev.custody.checkpoint.CheckpointVerifier v =
        new dev.custody.checkpoint.CheckpointVerifier(log.name(), log.verifier());
    List<byte[]> leaves = new java.util.ArrayList<>();
    for (int i = 0; i < 40; i++)
      leaves.add(dev.custody.merkle.Hashes.leafHash(new byte[] {(byte) i}));
    dev.custody.testing.NaiveTree t = new dev.custody.testing.NaiveTree(leaves);
    dev.custody.merkle.ProofBuilder pb =
        new dev.custody.merkle.ProofBuilder(
            (level, index) -> t.mth((int) (index << level), (int) ((index + 1) << level)));
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(8);
    List<java.util.concurrent.Future<?>> fs = new java.util.ArrayList<>();
    List<Integer> sizes = new java.util.ArrayList<>();
    for (int n = 1; n <= 40; n++) sizes.add(n);
    java.util.Collections.shuffle(sizes, new java.util.Random(7));
    for (int n : sizes) {
      dev.custody.checkpoint.Checkpoint cp =
          new dev.custody.checkpoint.Checkpoint(log.name(), n, t.root(n));
      String note = dev.custody.note.SignedNote.sign(cp.text(), log).format();
      // Each verifier with a store object of its own, as separate processes would have.
      fs.add(
          pool.submit(
              () -> {
                new CheckpointStore(dir).accept(v, cp, note, pb::consistency);
                return null;
              }));
    }
    for (java.util.concurrent.Future<?> f : fs) f.get();
    pool.shutdown();
    assertEquals(
        40,
        new CheckpointStore(dir).stored(v).orElseThrow().size(),
        "a newer checkpoint was overwritten");
  }
}
