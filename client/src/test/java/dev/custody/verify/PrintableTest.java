package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Issue 16, item 12: text from a bundle cannot forge a line of the verifier's report. */
class PrintableTest {
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
}
