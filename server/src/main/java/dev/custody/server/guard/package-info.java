/**
 * Guards against hostile and greedy peers: TLS, submitter certificates, per-client budgets, call
 * limits and deadlines, and pushback under sustained overload.
 */
package dev.custody.server.guard;
