/**
 * Monitors: follow a log's tiles, verify every checkpoint and entry, and flag what nobody expected
 * (an unknown signer, a fork) as findings.
 */
package dev.custody.monitor;
