package dev.custody.merkle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.custody.testing.Vectors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every RFC 6962/9162 proof vector of github.com/transparency-dev/merkle gives its verdict here.
 */
class TransparencyDevVectorsTest {
  /**
   * Cases where that library accepts and we refuse, on purpose: its equal-size shortcut compares
   * roots without checking they are hashes at all; we refuse a "root" that is not 32 bytes.
   */
  private static final Set<String> STRICTER_THAN_UPSTREAM =
      Set.of("consistency/additional/sizes-are-equal-one-and-proof-is-empty.json");

  @TestFactory
  Stream<DynamicTest> inclusion() throws IOException {
    return cases("inclusion").stream()
        .map(
            p ->
                DynamicTest.dynamicTest(
                    name(p),
                    () -> {
                      JsonNode c = Vectors.json(p);
                      boolean valid = !c.get("wantErr").asBoolean();
                      ThrowingCheck check =
                          () ->
                              Proofs.verifyInclusion(
                                  c.get("leafIdx").asLong(),
                                  c.get("treeSize").asLong(),
                                  b64(c.get("leafHash")),
                                  hashes(c.get("proof")),
                                  b64(c.get("root")));
                      expect(p, valid, check);
                    }));
  }

  @TestFactory
  Stream<DynamicTest> consistency() throws IOException {
    return cases("consistency").stream()
        .map(
            p ->
                DynamicTest.dynamicTest(
                    name(p),
                    () -> {
                      JsonNode c = Vectors.json(p);
                      boolean valid = !c.get("wantErr").asBoolean();
                      ThrowingCheck check =
                          () ->
                              Proofs.verifyConsistency(
                                  c.get("size1").asLong(),
                                  c.get("size2").asLong(),
                                  hashes(c.get("proof")),
                                  b64(c.get("root1")),
                                  b64(c.get("root2")));
                      expect(p, valid, check);
                    }));
  }

  @Test
  void theVectorSetIsComplete() throws IOException {
    // Guards against a truncated copy silently shrinking the suite.
    assertTrue(cases("inclusion").size() >= 90, "inclusion vectors: " + cases("inclusion").size());
    assertTrue(
        cases("consistency").size() >= 90, "consistency vectors: " + cases("consistency").size());
  }

  private interface ThrowingCheck {
    void run() throws ProofException;
  }

  private static void expect(Path p, boolean valid, ThrowingCheck check) throws ProofException {
    String rel = name(p);
    if (STRICTER_THAN_UPSTREAM.contains(rel)) {
      assertTrue(valid, "the deviation list is stale: upstream now rejects " + rel);
      assertThrows(ProofException.class, check::run);
    } else if (valid) {
      check.run();
    } else {
      assertThrows(ProofException.class, check::run, rel);
    }
  }

  private static List<Path> cases(String kind) throws IOException {
    Path dir = Vectors.path("transparency-dev-merkle", "testdata", kind);
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(f -> f.toString().endsWith(".json")).sorted().toList();
    }
  }

  private static String name(Path p) {
    return Vectors.path("transparency-dev-merkle", "testdata").relativize(p).toString();
  }

  private static byte[] b64(JsonNode n) {
    return n == null || n.isNull() ? null : Base64.getDecoder().decode(n.asText());
  }

  private static List<byte[]> hashes(JsonNode arr) {
    List<byte[]> out = new ArrayList<>();
    if (arr != null && !arr.isNull()) arr.forEach(h -> out.add(b64(h)));
    return out;
  }

  @Test
  void happyPathFromTheRfcExampleTree() throws ProofException {
    // A sanity anchor independent of the files' parser: the 8-leaf happy path must hold.
    JsonNode c =
        Vectors.json(
            Vectors.path(
                "transparency-dev-merkle", "testdata", "inclusion", "1", "happy-path.json"));
    assertEquals(8, c.get("treeSize").asInt());
    Proofs.verifyInclusion(
        0, 8, b64(c.get("leafHash")), hashes(c.get("proof")), b64(c.get("root")));
  }
}
