/**
 * The log's own signing key in a file (C2SP private key text), created on a new log's first start.
 */
package dev.custody.server.keys;
