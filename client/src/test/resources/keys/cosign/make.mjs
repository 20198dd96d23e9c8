// Makes cosign-format encrypted key files the way cosign's key specification says, with
// implementations independent of Custody's reader: Node's crypto (OpenSSL) for the P-256 key and
// scrypt, and tweetnacl 1.0.3 for nacl/secretbox. Run once (node make.mjs, with tweetnacl from
// npm); the files it wrote are committed beside it and read by CosignKeysTest.
//
// The format (cosign, "Signature Specification"): PEM, type ENCRYPTED SIGSTORE PRIVATE KEY (and,
// from older versions, ENCRYPTED COSIGN PRIVATE KEY), whose body is the JSON
//   {"kdf": {"name": "scrypt", "params": {"N": N, "r": r, "p": p}, "salt": base64},
//    "cipher": {"name": "nacl/secretbox", "nonce": base64(24 bytes)},
//    "ciphertext": base64(secretbox(PKCS#8 DER of the private key, nonce, scrypt(password, salt, N, r, p, 32)))}
import crypto from "node:crypto";
import fs from "node:fs";
import nacl from "tweetnacl";

function encrypted(type, der, password, n) {
  const salt = crypto.randomBytes(32);
  const key = crypto.scryptSync(Buffer.from(password, "utf8"), salt, 32, { N: n, r: 8, p: 1, maxmem: 256 * n * 8 + 1024 * 1024 });
  const nonce = crypto.randomBytes(24);
  const box = nacl.secretbox(new Uint8Array(der), new Uint8Array(nonce), new Uint8Array(key));
  const json = JSON.stringify({
    kdf: { name: "scrypt", params: { N: n, r: 8, p: 1 }, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: Buffer.from(box).toString("base64"),
  });
  const body = Buffer.from(json).toString("base64").match(/.{1,64}/g).join("\n");
  return `-----BEGIN ${type}-----\n${body}\n-----END ${type}-----\n`;
}

const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
const der = privateKey.export({ type: "pkcs8", format: "der" });
fs.writeFileSync("cosign.key", encrypted("ENCRYPTED SIGSTORE PRIVATE KEY", der, "correct horse", 32768));
fs.writeFileSync("cosign-legacy.key", encrypted("ENCRYPTED COSIGN PRIVATE KEY", der, "correct horse", 16384));
fs.writeFileSync("cosign-empty-password.key", encrypted("ENCRYPTED SIGSTORE PRIVATE KEY", der, "", 32768));
fs.writeFileSync("cosign.pub", publicKey.export({ type: "spki", format: "pem" }));
// A signature by the key over a fixed message, made by OpenSSL: our signer's output must verify
// under cosign.pub, and this one under our verifier.
const message = Buffer.from("custody cosign key test\n");
fs.writeFileSync("message.sig", crypto.sign("sha256", message, privateKey).toString("base64") + "\n");
