package dev.custody.merkle;

/**
 * Hashes of perfect subtrees: the node at {@code level} and {@code index} covers leaves {@code
 * [index << level, (index + 1) << level)}; level 0 are leaf hashes. Proof generation asks only for
 * nodes that lie wholly inside the tree it is proving, so a source backed by an append-only store
 * can answer every request for any size up to the current one.
 */
@FunctionalInterface
public interface NodeSource {
  byte[] hash(int level, long index);
}
