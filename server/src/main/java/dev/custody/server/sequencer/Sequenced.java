package dev.custody.server.sequencer;

import dev.custody.checkpoint.SignedCheckpoint;

/**
 * The outcome of one submission: where the entry is, and the signed checkpoint of the batch that
 * made it durable (which includes it).
 */
public record Sequenced(
    long index, byte[] leaf, byte[] leafHash, boolean duplicate, SignedCheckpoint checkpoint) {}
