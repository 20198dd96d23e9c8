/**
 * C2SP tlog-checkpoint: the checkpoint body (origin, size, root hash) and its verification as a
 * signed note by the log's key.
 */
package dev.custody.checkpoint;
