/**
 * The log server: configuration, start-up (storage, sequencer, gRPC, HTTP, witnesses, export), the
 * log's identity, and the command that runs it.
 */
package dev.custody.server;
