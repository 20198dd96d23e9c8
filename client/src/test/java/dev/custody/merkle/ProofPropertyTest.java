package dev.custody.merkle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.custody.testing.NaiveTree;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random trees: every generated proof equals the naive RFC 6962 one and verifies, and every
 * single-bit or structural mutation of a valid proof is refused. The seed is printed in every
 * failure so that it can be replayed.
 */
class ProofPropertyTest {
  private static final long SEED = Long.getLong("custody.seed", System.nanoTime());

  @Test
  void inclusionProofsVerifyAndMutationsFail() throws ProofException {
    Random rnd = new Random(SEED);
    for (int round = 0; round < 40; round++) {
      int size = 1 + (round < 20 ? round : rnd.nextInt(3000));
      Tree t = tree(rnd, size);
      for (int k = 0; k < 12; k++) {
        int index = rnd.nextInt(size);
        List<byte[]> proof = t.builder.inclusion(index, size);
        assertSame(t.naive.path(index, size), proof, "inclusion " + index + "/" + size);
        byte[] root = t.naive.root(size);
        byte[] leaf = t.hashes.get(index);
        Proofs.verifyInclusion(index, size, leaf, proof, root);
        for (Mutation m : inclusionMutations(rnd, index, size, leaf, proof, root)) {
          try {
            Proofs.verifyInclusion(m.index, m.size, m.leaf, m.proof, m.root);
            fail(
                "seed "
                    + SEED
                    + ": accepted mutated inclusion proof ("
                    + m.what
                    + ") for "
                    + index
                    + "/"
                    + size);
          } catch (ProofException expected) {
            // refused, as it must be
          }
        }
      }
    }
  }

  @Test
  void inclusionsInOnePassEqualTheNaivePathsOfEveryIndex() {
    Random rnd = new Random(SEED + 2);
    for (int round = 0; round < 30; round++) {
      int size = 1 + (round < 15 ? round : rnd.nextInt(3000));
      Tree t = tree(rnd, size);
      // A group commit's answers: a run of indices at the end, a duplicate from anywhere, repeats.
      int first = Math.max(0, size - 1 - rnd.nextInt(200));
      long[] indices = new long[size - first + 2];
      for (int i = first; i < size; i++) indices[i - first] = i;
      indices[indices.length - 2] = rnd.nextInt(size);
      indices[indices.length - 1] = first;
      List<List<byte[]>> paths = t.builder.inclusions(indices, size);
      assertEquals(indices.length, paths.size());
      for (int k = 0; k < indices.length; k++)
        assertSame(
            t.naive.path((int) indices[k], size),
            paths.get(k),
            "inclusion " + indices[k] + "/" + size);
    }
  }

  @Test
  void consistencyProofsVerifyAndMutationsFail() throws ProofException {
    Random rnd = new Random(SEED + 1);
    for (int round = 0; round < 40; round++) {
      int size2 = 1 + (round < 20 ? round : rnd.nextInt(3000));
      Tree t = tree(rnd, size2);
      for (int k = 0; k < 12; k++) {
        int size1 = 1 + rnd.nextInt(size2);
        List<byte[]> proof = t.builder.consistency(size1, size2);
        assertSame(
            size1 == size2 ? List.of() : t.naive.proof(size1, size2),
            proof,
            "consistency " + size1 + "->" + size2);
        byte[] r1 = t.naive.root(size1);
        byte[] r2 = t.naive.root(size2);
        Proofs.verifyConsistency(size1, size2, proof, r1, r2);
        for (ConsMutation m : consistencyMutations(rnd, size1, size2, proof, r1, r2)) {
          try {
            Proofs.verifyConsistency(m.s1, m.s2, m.proof, m.r1, m.r2);
            fail(
                "seed "
                    + SEED
                    + ": accepted mutated consistency proof ("
                    + m.what
                    + ") for "
                    + size1
                    + "->"
                    + size2);
          } catch (ProofException expected) {
            // refused
          }
        }
      }
    }
  }

  @Test
  void compactRangeMatchesNaiveRootsAndReportsEveryPerfectNode() {
    Random rnd = new Random(SEED + 2);
    List<byte[]> hashes = new ArrayList<>();
    CompactRange r = CompactRange.empty();
    int[] visited = {0};
    for (int i = 0; i < 1100; i++) {
      byte[] h = Hashes.leafHash(randomBytes(rnd, 1 + rnd.nextInt(40)));
      hashes.add(h);
      NaiveTree naive = new NaiveTree(hashes);
      r =
          r.append(
              h,
              (level, index, hash) -> {
                long lo = index << level;
                assertArrayEquals(
                    naive.mth((int) lo, (int) (lo + (1L << level))),
                    hash,
                    "node " + level + "/" + index);
                visited[0]++;
              });
      assertArrayEquals(naive.root(i + 1), r.root(), "root at " + (i + 1));
      CompactRange back = CompactRange.decode(r.encode());
      assertEquals(r.size(), back.size());
      assertArrayEquals(r.root(), back.root());
    }
    // A tree of n leaves has 2n - 1 - (number of ragged nodes) perfect nodes; at least n + n/2
    // here.
    assertEquals(2 * 1100 - Long.bitCount(1100), visited[0]);
  }

  private record Tree(List<byte[]> hashes, NaiveTree naive, ProofBuilder builder) {}

  private static Tree tree(Random rnd, int size) {
    List<byte[]> hashes = new ArrayList<>();
    // Distinct leaves: with two equal leaves, swapping their indices is a valid proof after all.
    for (int i = 0; i < size; i++) {
      byte[] leaf = randomBytes(rnd, 4 + rnd.nextInt(60));
      ByteBuffer.wrap(leaf).putInt(i);
      hashes.add(Hashes.leafHash(leaf));
    }
    return new Tree(
        hashes, new NaiveTree(hashes), new ProofBuilder(OracleVectorsTest.nodes(hashes)));
  }

  private record Mutation(
      String what, long index, long size, byte[] leaf, List<byte[]> proof, byte[] root) {}

  private static List<Mutation> inclusionMutations(
      Random rnd, long index, long size, byte[] leaf, List<byte[]> proof, byte[] root) {
    List<Mutation> out = new ArrayList<>();
    for (int i = 0; i < proof.size(); i++) {
      out.add(
          new Mutation(
              "bit flip in proof[" + i + "]", index, size, leaf, flip(rnd, proof, i), root));
    }
    out.add(new Mutation("bit flip in leaf", index, size, flip(rnd, leaf), proof, root));
    out.add(new Mutation("bit flip in root", index, size, leaf, proof, flip(rnd, root)));
    out.add(new Mutation("extra hash", index, size, leaf, plus(proof, randomBytes(rnd, 32)), root));
    out.add(new Mutation("leaf prepended", index, size, leaf, prepend(proof, leaf), root));
    out.add(new Mutation("index = size", size, size, leaf, proof, root));
    out.add(new Mutation("index = -1", -1, size, leaf, proof, root));
    out.add(new Mutation("size 0", index, 0, leaf, proof, root));
    out.add(new Mutation("short hash", index, size, leaf, withShortHash(proof), root));
    out.add(new Mutation("31-byte root", index, size, leaf, proof, Arrays.copyOf(root, 31)));
    if (!proof.isEmpty()) {
      out.add(
          new Mutation(
              "last hash dropped", index, size, leaf, proof.subList(0, proof.size() - 1), root));
      if (pathLength(index, size * 2) != proof.size()) {
        out.add(new Mutation("size * 2", index, size * 2, leaf, proof, root));
      }
    }
    if (proof.size() > 1 && !Arrays.equals(proof.get(0), proof.get(proof.size() - 1))) {
      out.add(new Mutation("reversed", index, size, leaf, reversed(proof), root));
    }
    // Moving the index changes which side each hash goes on, unless the tree's shape hides it.
    // A neighbour's index flips the order of the lowest hash (or changes the proof's length),
    // so with overwhelming probability the proof leads elsewhere.
    if (index + 1 < size) out.add(new Mutation("index + 1", index + 1, size, leaf, proof, root));
    if (index > 0) out.add(new Mutation("index - 1", index - 1, size, leaf, proof, root));
    return out;
  }

  /*
   * A size mutation alone need not be detectable: the same hashes can be a valid proof for a
   * different tree whose nodes happen to have those values. It is detectable for certain when
   * the sizes demand a proof of another length, which is what these helpers decide.
   */
  private static int pathLength(long m, long n) {
    if (n == 1) return 0;
    long k = Long.highestOneBit(n - 1);
    return 1 + (m < k ? pathLength(m, k) : pathLength(m - k, n - k));
  }

  private static int proofLength(long m, long n, boolean whole) {
    if (m == n) return whole ? 0 : 1;
    long k = Long.highestOneBit(n - 1);
    return 1 + (m <= k ? proofLength(m, k, whole) : proofLength(m - k, n - k, false));
  }

  private record ConsMutation(
      String what, long s1, long s2, List<byte[]> proof, byte[] r1, byte[] r2) {}

  private static List<ConsMutation> consistencyMutations(
      Random rnd, long s1, long s2, List<byte[]> proof, byte[] r1, byte[] r2) {
    List<ConsMutation> out = new ArrayList<>();
    for (int i = 0; i < proof.size(); i++) {
      out.add(
          new ConsMutation("bit flip in proof[" + i + "]", s1, s2, flip(rnd, proof, i), r1, r2));
    }
    out.add(new ConsMutation("bit flip in root1", s1, s2, proof, flip(rnd, r1), r2));
    out.add(new ConsMutation("bit flip in root2", s1, s2, proof, r1, flip(rnd, r2)));
    out.add(new ConsMutation("extra hash", s1, s2, plus(proof, randomBytes(rnd, 32)), r1, r2));
    out.add(new ConsMutation("size1 = 0", 0, s2, proof, r1, r2));
    out.add(new ConsMutation("short hash", s1, s2, withShortHash(proof), r1, r2));
    if (s1 != s2) {
      out.add(new ConsMutation("sizes swapped", s2, s1, proof, r1, r2));
      out.add(new ConsMutation("roots swapped", s1, s2, proof, r2, r1));
      out.add(new ConsMutation("empty proof", s1, s2, List.of(), r1, r2));
      out.add(
          new ConsMutation(
              "last hash dropped", s1, s2, proof.subList(0, proof.size() - 1), r1, r2));
      out.add(new ConsMutation("root1 prepended", s1, s2, prepend(proof, r1), r1, r2));
      if (s1 + 1 < s2 && proofLength(s1 + 1, s2, true) != proof.size()) {
        out.add(new ConsMutation("size1 + 1", s1 + 1, s2, proof, r1, r2));
      }
      if (s1 > 1 && proofLength(s1 - 1, s2, true) != proof.size()) {
        out.add(new ConsMutation("size1 - 1", s1 - 1, s2, proof, r1, r2));
      }
      if (proofLength(s1, s2 + 1, true) != proof.size()) {
        out.add(new ConsMutation("size2 + 1", s1, s2 + 1, proof, r1, r2));
      }
    } else {
      out.add(new ConsMutation("non-empty proof for equal sizes", s1, s2, List.of(r1), r1, r2));
    }
    return out;
  }

  private static void assertSame(List<byte[]> want, List<byte[]> got, String what) {
    assertEquals(want.size(), got.size(), what + ": length");
    for (int i = 0; i < want.size(); i++)
      assertArrayEquals(want.get(i), got.get(i), what + ": hash " + i);
  }

  private static byte[] randomBytes(Random rnd, int n) {
    byte[] b = new byte[n];
    rnd.nextBytes(b);
    return b;
  }

  private static byte[] flip(Random rnd, byte[] h) {
    byte[] c = h.clone();
    c[rnd.nextInt(c.length)] ^= (byte) (1 << rnd.nextInt(8));
    return c;
  }

  private static List<byte[]> flip(Random rnd, List<byte[]> proof, int i) {
    List<byte[]> c = new ArrayList<>(proof);
    c.set(i, flip(rnd, proof.get(i)));
    return c;
  }

  private static List<byte[]> plus(List<byte[]> proof, byte[] h) {
    List<byte[]> c = new ArrayList<>(proof);
    c.add(h);
    return c;
  }

  private static List<byte[]> prepend(List<byte[]> proof, byte[] h) {
    List<byte[]> c = new ArrayList<>();
    c.add(h);
    c.addAll(proof);
    return c;
  }

  private static List<byte[]> reversed(List<byte[]> proof) {
    List<byte[]> c = new ArrayList<>(proof);
    Collections.reverse(c);
    return c;
  }

  private static List<byte[]> withShortHash(List<byte[]> proof) {
    List<byte[]> c = new ArrayList<>(proof);
    c.add(new byte[31]);
    return c;
  }
}
