/**
 * The replicated sequencer on Apache Ratis: the Raft state machine that applies batches,
 * membership, snapshots, and a node's place in the cluster. See docs/design/cluster.md.
 */
package dev.custody.server.cluster;
