/**
 * The custody command line: keygen, sign, submit, attach, verify, the verification service, bundle,
 * checkpoint, proof, info, monitor and witness.
 */
package dev.custody.tools;
