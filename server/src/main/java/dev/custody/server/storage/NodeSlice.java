package dev.custody.server.storage;

/**
 * Up to 16 Merkle nodes as stored: slice {@code index} of a stratum, the nodes [16 × index, 16 ×
 * index + 16) at tree level 4 × {@code stratum} (see {@link LogStorage#slice}).
 */
public record NodeSlice(int stratum, long index, byte[] hashes) {}
