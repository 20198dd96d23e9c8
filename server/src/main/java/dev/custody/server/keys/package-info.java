/**
 * The log's own signing keys: where they come from (a C2SP key file, created on a new log's first
 * start, or a token), and their history across rotations, with the rules a rotation must follow.
 */
package dev.custody.server.keys;
