/** JMH micro-benchmarks: hashing, proofs, notes, links, and proofs read from RocksDB. */
package dev.custody.bench.jmh;
