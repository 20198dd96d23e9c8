/**
 * C2SP tlog-tiles: tile paths, reading and checking tiles and entry bundles against a signed root,
 * and proofs built from tiles.
 */
package dev.custody.tiles;
