/**
 * Helpers around the custody.v1 gRPC API: client retries with backoff, and channels over a list of
 * cluster nodes.
 */
package dev.custody.api;
