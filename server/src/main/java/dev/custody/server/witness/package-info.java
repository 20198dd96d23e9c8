/**
 * Cosigning: asking the log's witnesses to cosign each new checkpoint, and serving the newest
 * checkpoint that a quorum cosigned.
 */
package dev.custody.server.witness;
