/**
 * What every HTTP port of ours shares: one server ({@link HttpServer}) serving a route table
 * ({@link Routes}), caps on connections per client and in all, the time a request may take to
 * arrive, and how a client is named.
 */
package dev.custody.serving;
