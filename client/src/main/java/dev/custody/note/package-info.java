/**
 * C2SP signed-note: note text and signatures, Ed25519 note keys (log keys and cosigner keys), key
 * names and key IDs.
 */
package dev.custody.note;
