/**
 * The gRPC services (TransparencyLog, ChainLookup) and the one mapping from the server's typed
 * errors to gRPC statuses.
 */
package dev.custody.server.api;
