/**
 * A Custody log over gRPC for Java programs: {@code LogClient} submits entries, reads checkpoints,
 * proofs and chains, and checks each answer with the verification core before returning it. Offline
 * verifiers need only the core ({@code custody-client}), which has no gRPC.
 */
package dev.custody.logclient;
