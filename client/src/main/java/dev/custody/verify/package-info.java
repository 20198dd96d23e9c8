/**
 * Verifying an image's chain of custody: trust policies, offline bundles, the chain verifier, and
 * the store of checkpoints seen before.
 */
package dev.custody.verify;
