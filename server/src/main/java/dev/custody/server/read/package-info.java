/**
 * Reads of the published log: leaves, tiles, proofs (from memory or, off the event loop, from
 * disk), and stored links by index or link ID.
 */
package dev.custody.server.read;
