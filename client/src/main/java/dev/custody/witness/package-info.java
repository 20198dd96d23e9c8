/**
 * A C2SP tlog-witness: checks that each checkpoint a log submits is consistent with the last it
 * cosigned, then cosigns it (tlog-cosignature).
 */
package dev.custody.witness;
