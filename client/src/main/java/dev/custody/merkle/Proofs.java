package dev.custody.merkle;

import java.security.MessageDigest;
import java.util.List;

/**
 * Proof verification exactly as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency). Every
 * input comes from outside: hashes must be 32 bytes, indices and sizes in range, and the proof
 * exactly as long as the tree shape demands; anything else is a {@link ProofException}.
 */
public final class Proofs {
  private Proofs() {}

  public static void verifyInclusion(
      long index, long size, byte[] leafHash, List<byte[]> proof, byte[] root)
      throws ProofException {
    requireHash(root, "root hash");
    byte[] computed = rootFromInclusion(index, size, leafHash, proof);
    if (!MessageDigest.isEqual(computed, root)) {
      throw new ProofException(
          "inclusion proof does not lead to the root hash of tree size " + size);
    }
  }

  /** The root implied by an inclusion proof; checks shape and lengths but compares with nothing. */
  public static byte[] rootFromInclusion(long index, long size, byte[] leafHash, List<byte[]> proof)
      throws ProofException {
    if (size <= 0) throw new ProofException("tree size " + size + " has no leaves");
    if (index < 0 || index >= size) {
      throw new ProofException("leaf index " + index + " is not below tree size " + size);
    }
    requireHash(leafHash, "leaf hash");
    requireHashes(proof);
    long fn = index;
    long sn = size - 1;
    byte[] r = leafHash;
    for (byte[] p : proof) {
      if (sn == 0)
        throw new ProofException("inclusion proof has more hashes than the tree has levels");
      if ((fn & 1) == 1 || fn == sn) {
        r = Hashes.nodeHash(p, r);
        while ((fn & 1) == 0 && fn != 0) {
          fn >>>= 1;
          sn >>>= 1;
        }
      } else {
        r = Hashes.nodeHash(r, p);
      }
      fn >>>= 1;
      sn >>>= 1;
    }
    if (sn != 0) throw new ProofException("inclusion proof is missing hashes");
    return r;
  }

  /**
   * Consistency between a tree of size1 and one of size2. Equal sizes need an empty proof and equal
   * roots. size1 = 0 is refused: every tree extends the empty tree, so such a "proof" proves
   * nothing (RFC 9162 defines 0 < size1; x/mod and transparency-dev/merkle refuse it too).
   */
  public static void verifyConsistency(
      long size1, long size2, List<byte[]> proof, byte[] root1, byte[] root2)
      throws ProofException {
    requireHash(root1, "first root hash");
    requireHash(root2, "second root hash");
    requireHashes(proof);
    if (size1 <= 0)
      throw new ProofException("consistency from tree size " + size1 + " proves nothing");
    if (size2 < size1) {
      throw new ProofException(
          "second tree size " + size2 + " is smaller than the first, " + size1);
    }
    if (size1 == size2) {
      if (!proof.isEmpty())
        throw new ProofException("trees of equal size need an empty consistency proof");
      if (!MessageDigest.isEqual(root1, root2)) {
        throw new ProofException("two different root hashes for tree size " + size1);
      }
      return;
    }
    if (proof.isEmpty()) throw new ProofException("consistency proof is empty");

    int start = 0;
    byte[] fr;
    if (TreeMath.isPowerOfTwo(size1)) {
      fr = root1; // RFC 9162 step 2: the first tree is a node of the second; its hash is implied.
    } else {
      fr = proof.get(0);
      start = 1;
    }
    long fn = size1 - 1;
    long sn = size2 - 1;
    while ((fn & 1) == 1) {
      fn >>>= 1;
      sn >>>= 1;
    }
    byte[] sr = fr;
    for (int i = start; i < proof.size(); i++) {
      byte[] c = proof.get(i);
      if (sn == 0)
        throw new ProofException("consistency proof has more hashes than the trees need");
      if ((fn & 1) == 1 || fn == sn) {
        fr = Hashes.nodeHash(c, fr);
        sr = Hashes.nodeHash(c, sr);
        while ((fn & 1) == 0 && fn != 0) {
          fn >>>= 1;
          sn >>>= 1;
        }
      } else {
        sr = Hashes.nodeHash(sr, c);
      }
      fn >>>= 1;
      sn >>>= 1;
    }
    if (sn != 0) throw new ProofException("consistency proof is missing hashes");
    if (!MessageDigest.isEqual(fr, root1)) {
      throw new ProofException(
          "consistency proof does not lead to the root hash of tree size " + size1);
    }
    if (!MessageDigest.isEqual(sr, root2)) {
      throw new ProofException(
          "consistency proof does not lead to the root hash of tree size " + size2);
    }
  }

  private static void requireHashes(List<byte[]> proof) throws ProofException {
    if (proof == null) throw new ProofException("proof is missing");
    for (int i = 0; i < proof.size(); i++) requireHash(proof.get(i), "proof hash " + i);
  }

  private static void requireHash(byte[] h, String what) throws ProofException {
    if (!Hashes.isHash(h)) {
      throw new ProofException(
          what + " is " + (h == null ? "missing" : h.length + " bytes") + ", not 32");
    }
  }
}
