// Custody log explorer: checks, in the browser, every inclusion proof on the page (RFC 9162,
// SHA-256) and the signature on the checkpoint it is against (C2SP signed-note, Ed25519), with
// WebCrypto. The server's word is never the evidence: each .verification element ends "ok" only
// when both checks pass here, "failed" when one fails, and stays "pending" (with the reason) when
// this browser cannot check (no WebCrypto outside a secure context, or no Ed25519 in it).
"use strict";

(function () {
  const enc = new TextEncoder();

  function b64(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // RFC 9162 section 2.1.3.2: verifying an inclusion proof.
  async function rootFromInclusion(index, size, leaf, proof) {
    if (index >= size) throw new Error("index " + index + " is not below the tree size " + size);
    let fn = index, sn = size - 1;
    let r = await sha256(concat(new Uint8Array([0]), leaf));
    for (const p of proof) {
      if (p.length !== 32) throw new Error("a proof hash is not 32 bytes");
      if (sn === 0) throw new Error("the proof is longer than the tree allows");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(concat(new Uint8Array([1]), p, r));
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256(concat(new Uint8Array([1]), r, p));
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("the proof is shorter than the tree needs");
    return r;
  }

  // C2SP signed-note: the text, a blank line, then "— <name> <base64(key hash || signature)>" lines.
  // C2SP tlog-checkpoint: the text is origin, size and base64 root hash, one per line.
  async function verifyCheckpoint(noteBytes, vkey) {
    const note = new TextDecoder().decode(noteBytes);
    const split = note.indexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint has no signatures");
    const text = note.substring(0, split + 1);
    const lines = text.split("\n");
    const origin = lines[0], size = lines[1], root = lines[2];
    if (!/^[0-9]+$/.test(size)) throw new Error("the checkpoint's size line is not a number");

    // Verifier key: <name>+<hex key hash>+<base64(0x01 || Ed25519 public key)>; names hold no '+',
    // the base64 may.
    const i = vkey.indexOf("+"), j = vkey.indexOf("+", i + 1);
    if (i <= 0 || j !== i + 9) throw new Error("the verifier key is not name+hash+key");
    const name = vkey.substring(0, i), hashHex = vkey.substring(i + 1, j), keyB64 = vkey.substring(j + 1);
    const keyBytes = b64(keyB64);
    if (keyBytes.length !== 33 || keyBytes[0] !== 1) throw new Error("the verifier key is not an Ed25519 note key");
    const idFull = await sha256(concat(enc.encode(name), new Uint8Array([0x0a]), keyBytes));
    const id = Array.from(idFull.slice(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
    if (id !== hashHex) throw new Error("the verifier key's hash does not match its key");
    if (origin !== name) throw new Error("the checkpoint is for " + origin + ", not for the key's log " + name);

    let key;
    try {
      key = await crypto.subtle.importKey("raw", keyBytes.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new Pending("this browser's WebCrypto has no Ed25519, so it cannot check the log's signature");
    }
    const sigLines = note.substring(split + 2).split("\n").filter((l) => l.length > 0);
    for (const l of sigLines) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(l);
      if (!m || m[1] !== name) continue;
      const sig = b64(m[2]);
      if (sig.length !== 68) continue;
      if (!equal(sig.slice(0, 4), idFull.slice(0, 4))) continue;
      if (await crypto.subtle.verify({ name: "Ed25519" }, key, sig.slice(4), enc.encode(text))) {
        return { size: Number(size), root: b64(root) };
      }
      throw new Error("the log's signature on the checkpoint does not verify");
    }
    throw new Error("the checkpoint carries no signature by the log's key");
  }

  class Pending extends Error {}

  // A verifier key the reader pinned in this browser (on the status page): then the checks are
  // against it, not against the key the server states.
  const PIN = "custody.pinned-verifier-key";

  function pinned() {
    try {
      return localStorage.getItem(PIN);
    } catch (e) {
      return null;
    }
  }

  async function check(el) {
    const d = el.dataset;
    const index = Number(d.index), size = Number(d.size);
    const proof = d.proof === "" ? [] : d.proof.split(",").map(b64);
    const key = pinned() || d.vkey;
    const cp = await verifyCheckpoint(b64(d.note), key);
    if (cp.size !== size) throw new Error("the proof is for size " + size + ", the checkpoint is " + cp.size);
    const root = await rootFromInclusion(index, size, b64(d.leaf), proof);
    if (!equal(root, cp.root)) throw new Error("the proof does not lead to the checkpoint's root hash");
    return "checked by your browser: entry " + index + " is in the log at size " + size
        + ", whose checkpoint the log signed" + (pinned() ? " (with the key you pinned)" : " (with the key the server states)");
  }

  function show(el, state, text) {
    el.dataset.verification = state;
    const r = el.querySelector(".result") || el;
    r.textContent = (state === "ok" ? "\u2714 " : state === "failed" ? "\u2718 " : "\u2026 ") + text;
  }

  function pinForm() {
    const shown = document.getElementById("pinned-key");
    if (!shown) return;
    shown.textContent = pinned() || "none: the checks use the key the server states";
    document.getElementById("pin-button").addEventListener("click", () => {
      const v = document.getElementById("pin-input").value.trim();
      if (v.length > 0) localStorage.setItem(PIN, v);
      shown.textContent = pinned();
    });
    document.getElementById("unpin-button").addEventListener("click", () => {
      localStorage.removeItem(PIN);
      shown.textContent = "none: the checks use the key the server states";
    });
  }

  async function run() {
    pinForm();
    for (const b of document.querySelectorAll("button.copy")) {
      b.addEventListener("click", () => {
        const t = document.getElementById(b.dataset.copy);
        if (t && navigator.clipboard) navigator.clipboard.writeText(t.textContent);
      });
    }
    const els = document.querySelectorAll(".verification");
    if (els.length === 0) return;
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      for (const el of els) {
        show(el, "pending", "not checked: this page is not a secure context (open it over HTTPS, or on localhost), "
            + "so this browser has no WebCrypto; verify with custody verify instead");
      }
      return;
    }
    for (const el of els) {
      show(el, "pending", "checking\u2026");
      try {
        show(el, "ok", await check(el));
      } catch (e) {
        show(el, e instanceof Pending ? "pending" : "failed", (e instanceof Pending ? "not checked: " : "FAILED: ") + e.message);
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
