/**
 * The benchmarks behind BENCHMARKS.md: load generators, scale and crash campaigns, ceilings, each a
 * command of custody-bench that prints its table. Not part of any release.
 */
package dev.custody.bench;
