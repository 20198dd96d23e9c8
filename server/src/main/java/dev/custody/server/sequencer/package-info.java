/**
 * The write path: entries queued, sequenced in group commits, integrated into the tree, the new
 * checkpoint signed and published; and the errors that push back. See docs/design/write-path.md.
 */
package dev.custody.server.sequencer;
