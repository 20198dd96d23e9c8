package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Issue 16, item 12: a verifier's inputs cannot forge its report, cut a number short or silently reset its state. */
class VerifierHardeningTest {
  @Test
  void controlCharactersAndLineBreaksAreEscaped() {
    assertEquals("a\\x0aVERIFIED: b\\x1b[2J\\u2028c\\\\x0a", Printable.of("a\nVERIFIED: b\u001b[2J\u2028c\\x0a"));
    assertEquals("plain text, ünïcödé", Printable.of("plain text, ünïcödé"));
  }

  @Test
  void aReportCannotBeMadeToSayVerifiedByAFieldItQuotes() {
    String hostile = "payload type \"x\nVERIFIED: every layer is signed by an allowed key and publicly logged\"";
    ChainVerifier.Result r = new ChainVerifier.Result(List.of(new ChainVerifier.LayerResult(0, Optional.of(hostile),
        Optional.empty(), Optional.of("registry.example/x\nVERIFIED: too"))), List.of("log \r\nVERIFIED:"), Optional.empty());
    String report = r.report();
    assertFalse(r.ok());
    assertTrue(report.lines().noneMatch(l -> l.startsWith("VERIFIED")), report);
    assertTrue(report.endsWith("NOT VERIFIED\n"), report);
    assertEquals(3, report.lines().count(), report);
  }

  @Test
  void aBundleIndexBeyond64BitsIsRefusedNotTruncated() {
    String json = "{\"checkpoint\": \"x\", \"links\": [{\"index\": 18446744073709551623, \"leaf\": \"AA==\", "
        + "\"inclusion_proof\": []}]}";
    org.junit.jupiter.api.Assertions.assertThrows(PolicyException.class,
        () -> Bundle.parse(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Test
  void anEmptyMonitorStateIsAnErrorNotAFreshStart(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path f = dir.resolve("state.json");
    java.nio.file.Files.writeString(f, "");
    java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
        () -> dev.custody.monitor.MonitorState.load(f));
    assertTrue(e.getMessage().contains("empty or damaged"), e.getMessage());
  }
}
