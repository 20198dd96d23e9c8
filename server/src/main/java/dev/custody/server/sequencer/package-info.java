/**
 * The write path: entries queued, sequenced in group commits, integrated into the tree, the new
 * checkpoint signed and published; The errors that push back are in {@code pushback}. See
 * docs/design/write-path.md.
 */
package dev.custody.server.sequencer;
