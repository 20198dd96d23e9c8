package dev.custody.merkle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import dev.custody.testing.NaiveTree;
import dev.custody.testing.Vectors;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The 257-leaf tree made by Go's golang.org/x/mod sumdb/tlog: roots, proofs, and our generator. */
class OracleVectorsTest {
  private static final HexFormat HEX = HexFormat.of();

  static List<byte[]> leaves() {
    List<byte[]> out = new ArrayList<>();
    for (JsonNode c : Vectors.json(Vectors.path("oracle-n257", "leaves.json")).get("cases")) {
      out.add(Base64.getDecoder().decode(c.get("data_b64").asText()));
    }
    return out;
  }

  @Test
  void leafHashesAndEveryRootMatch() {
    List<byte[]> leaves = leaves();
    JsonNode leafCases = Vectors.json(Vectors.path("oracle-n257", "leaves.json")).get("cases");
    assertEquals(257, leaves.size());
    CompactRange r = CompactRange.empty();
    List<byte[]> hashes = new ArrayList<>();
    JsonNode roots = Vectors.json(Vectors.path("oracle-n257", "roots.json")).get("cases");
    assertArrayEquals(HEX.parseHex(roots.get(0).get("root").asText()), r.root());
    for (int i = 0; i < leaves.size(); i++) {
      byte[] h = Hashes.leafHash(leaves.get(i));
      assertArrayEquals(HEX.parseHex(leafCases.get(i).get("leaf_hash").asText()), h, "leaf " + i);
      hashes.add(h);
      r = r.append(h, (l, x, y) -> {});
      JsonNode want = roots.get(i + 1);
      assertEquals(i + 1, want.get("size").asInt());
      assertArrayEquals(
          HEX.parseHex(want.get("root").asText()), r.root(), "root at size " + (i + 1));
      assertArrayEquals(r.root(), new ProofBuilder(nodes(hashes)).root(i + 1));
    }
  }

  @TestFactory
  Stream<DynamicTest> inclusion() {
    List<byte[]> hashes = new ArrayList<>();
    leaves().forEach(l -> hashes.add(Hashes.leafHash(l)));
    ProofBuilder builder = new ProofBuilder(nodes(hashes));
    return cases("inclusion.json")
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.get("id") + " " + c.get("desc").asText(),
                    () -> {
                      long size = c.get("tree_size").asLong();
                      long index = c.get("index").asLong();
                      List<byte[]> proof = hexList(c.get("proof"));
                      if (c.get("valid").asBoolean()) {
                        Proofs.verifyInclusion(
                            index, size, hex(c, "leaf_hash"), proof, hex(c, "root"));
                        // And we generate exactly the proof the oracle did.
                        List<byte[]> ours = builder.inclusion(index, size);
                        assertEquals(proof.size(), ours.size());
                        for (int i = 0; i < ours.size(); i++)
                          assertArrayEquals(proof.get(i), ours.get(i));
                      } else {
                        assertThrows(
                            ProofException.class,
                            () ->
                                Proofs.verifyInclusion(
                                    index, size, hex(c, "leaf_hash"), proof, hex(c, "root")));
                      }
                    }));
  }

  @TestFactory
  Stream<DynamicTest> consistency() {
    List<byte[]> hashes = new ArrayList<>();
    leaves().forEach(l -> hashes.add(Hashes.leafHash(l)));
    ProofBuilder builder = new ProofBuilder(nodes(hashes));
    return cases("consistency.json")
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.get("id") + " " + c.get("desc").asText(),
                    () -> {
                      long s1 = c.get("size1").asLong();
                      long s2 = c.get("size2").asLong();
                      List<byte[]> proof = hexList(c.get("proof"));
                      if (c.get("valid").asBoolean()) {
                        Proofs.verifyConsistency(s1, s2, proof, hex(c, "root1"), hex(c, "root2"));
                        List<byte[]> ours = builder.consistency(s1, s2);
                        assertEquals(proof.size(), ours.size());
                        for (int i = 0; i < ours.size(); i++)
                          assertArrayEquals(proof.get(i), ours.get(i));
                      } else {
                        assertThrows(
                            ProofException.class,
                            () ->
                                Proofs.verifyConsistency(
                                    s1, s2, proof, hex(c, "root1"), hex(c, "root2")));
                      }
                    }));
  }

  @Test
  void naiveReferenceAgreesWithTheOracle() {
    // The reference used by the property tests is itself checked against x/mod.
    NaiveTree t = NaiveTree.ofLeaves(leaves());
    JsonNode roots = Vectors.json(Vectors.path("oracle-n257", "roots.json")).get("cases");
    for (JsonNode r : roots) {
      assertArrayEquals(HEX.parseHex(r.get("root").asText()), t.root(r.get("size").asInt()));
    }
  }

  static NodeSource nodes(List<byte[]> leafHashes) {
    NaiveTree t = new NaiveTree(leafHashes);
    return (level, index) -> {
      long lo = index << level;
      long hi = lo + (1L << level);
      if (hi > leafHashes.size())
        throw new AssertionError("asked for node " + level + "/" + index + " beyond the tree");
      return t.mth((int) lo, (int) hi);
    };
  }

  private static Stream<JsonNode> cases(String file) {
    JsonNode all = Vectors.json(Vectors.path("oracle-n257", file)).get("cases");
    return StreamSupport.stream(all.spliterator(), false);
  }

  private static byte[] hex(JsonNode c, String field) {
    return HEX.parseHex(c.get(field).asText());
  }

  private static List<byte[]> hexList(JsonNode arr) {
    List<byte[]> out = new ArrayList<>();
    arr.forEach(h -> out.add(HEX.parseHex(h.asText())));
    return out;
  }
}
