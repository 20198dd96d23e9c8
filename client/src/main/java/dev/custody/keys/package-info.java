/**
 * Signing keys wherever they live: key files (PKCS#8, encrypted PKCS#8, cosign's encrypted keys),
 * PKCS#11 tokens, and the Signers seam through which a KMS backend plugs in. See
 * docs/design/keys.md.
 */
package dev.custody.keys;
