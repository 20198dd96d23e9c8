/**
 * RFC 9162 Merkle trees: leaf and node hashes, inclusion and consistency proofs (built and
 * verified), compact ranges and tree arithmetic. Pure functions.
 */
package dev.custody.merkle;
