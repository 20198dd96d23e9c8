/**
 * Pushback: the errors that tell a submitter to retry later (overloaded, unavailable, shutting
 * down, write refused). Both admission and the sequencer throw them; see docs/design/pushback.md.
 */
package dev.custody.server.pushback;
