/**
 * Layer links: the signed Statement (a team's layer of an image, on the link below), its DSSE
 * envelope, link IDs and ChainIDs, the chain rules, and signature checks (Ed25519, ECDSA P-256).
 */
package dev.custody.chain;
