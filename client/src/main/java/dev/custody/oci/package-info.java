/**
 * What a verifier needs of an OCI image (manifest digest, layer digests, diff_ids), read from a
 * layout or from manifest and config bytes, every digest recomputed.
 */
package dev.custody.oci;
