/**
 * RocksDB storage: leaves, Merkle node slices, checkpoints, deduplication and lookup keys, format
 * versions and their upgrades. See docs/design/storage.md.
 */
package dev.custody.server.storage;
