package dev.custody.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Whom a verifier trusts: the log (origin and verifier key), and the signers allowed per
 * repository pattern and layer range, each within a validity window. A JSON file:
 *
 * <pre>{@code
 * {
 *   "log": {"origin": "log.example/custody", "verifier_key": "log.example/custody+1234abcd+AQ..."},
 *   "signers": [
 *     {"name": "base OS team", "public_key": "-----BEGIN PUBLIC KEY-----\n...",
 *      "repositories": ["registry.example/base/*"], "layers": {"min": 0, "max": 0},
 *      "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2027-01-01T00:00:00Z"}
 *   ],
 *   "witnesses": {"quorum": 0, "verifier_keys": []}
 * }
 * }</pre>
 *
 * A signer may give {@code "public_key_file"} (a PEM file, relative to the policy file) or
 * {@code "key_id"} (hex SHA-256 of the SPKI) instead of {@code public_key}.
 * Repository patterns are exact names, or prefixes ending in {@code *}. Every field but the log
 * and each signer's key is optional; absent limits allow everything.
 */
public record TrustPolicy(String origin, String logVerifierKey, List<Signer> signers, int witnessQuorum,
    List<String> witnessKeys) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public record Signer(String name, byte[] keyId, List<String> repositories, long minLayer, long maxLayer,
      Optional<Instant> validFrom, Optional<Instant> validUntil) {
    boolean repositoryAllowed(String repo) {
      if (repositories.isEmpty()) return true;
      for (String p : repositories) {
        if (p.endsWith("*") ? repo.startsWith(p.substring(0, p.length() - 1)) : repo.equals(p)) return true;
      }
      return false;
    }
  }

  public TrustPolicy {
    signers = List.copyOf(signers);
    witnessKeys = List.copyOf(witnessKeys);
  }

  public CheckpointVerifier logVerifier() throws PolicyException {
    try {
      Ed25519NoteKeys.Verifier v = Ed25519NoteKeys.parseVerifierKey(logVerifierKey);
      if (v.type() != Ed25519NoteKeys.TYPE) throw new PolicyException("policy log.verifier_key must be a type 0x01 (log) key");
      return new CheckpointVerifier(origin, v);
    } catch (NoteException e) {
      throw new PolicyException("policy log.verifier_key: " + e.getMessage());
    }
  }

  /** The witnesses' cosigner keys (C2SP tlog-cosignature, type 0x04). */
  public List<Ed25519NoteKeys.Verifier> witnessVerifiers() throws PolicyException {
    List<Ed25519NoteKeys.Verifier> out = new ArrayList<>();
    for (String w : witnessKeys) {
      try {
        Ed25519NoteKeys.Verifier v = Ed25519NoteKeys.parseVerifierKey(w);
        if (v.type() != Ed25519NoteKeys.COSIGNATURE) throw new PolicyException("witness key " + w + " is not a cosigner (type 0x04) key");
        out.add(v);
      } catch (NoteException e) {
        throw new PolicyException("witnesses.verifier_keys: " + e.getMessage());
      }
    }
    return out;
  }

  /** Throws with the reason unless some signer entry allows this link at this log time. */
  public void checkAllowed(SignedLink link, long logTimestampMs) throws PolicyException {
    byte[] keyId = link.keyId();
    String repo = link.statement().repository();
    long layer = link.statement().layerIndex();
    Instant at = Instant.ofEpochMilli(logTimestampMs);
    List<Signer> withKey = signers.stream().filter(s -> Arrays.equals(s.keyId, keyId)).toList();
    if (withKey.isEmpty()) {
      throw new PolicyException("signed by a key the policy does not trust (key_id " + HexFormat.of().formatHex(keyId) + ")");
    }
    String why = null;
    boolean window = false;
    for (Signer s : withKey) {
      if (!s.repositoryAllowed(repo)) {
        why = "key of \"" + s.name + "\" is not allowed for repository " + repo;
      } else if (layer < s.minLayer || layer > s.maxLayer) {
        why = "key of \"" + s.name + "\" is not allowed for layer " + layer;
      } else if (s.validFrom.isPresent() && at.isBefore(s.validFrom.get())
          || s.validUntil.isPresent() && !at.isBefore(s.validUntil.get())) {
        why = "key of \"" + s.name + "\" was used at " + at + ", outside its validity window";
        window = true;
      } else {
        return;
      }
    }
    throw new PolicyException(why, window);
  }

  public static TrustPolicy read(Path file) throws IOException, PolicyException {
    return parse(Files.readAllBytes(file), file.toAbsolutePath().getParent());
  }

  public static TrustPolicy parse(byte[] json) throws PolicyException {
    return parse(json, null);
  }

  /** @param baseDir where {@code public_key_file} paths are resolved; null forbids them */
  public static TrustPolicy parse(byte[] json, Path baseDir) throws PolicyException {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new PolicyException("policy is not valid JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) throw new PolicyException("policy must be a JSON object");
    String origin = text(root.path("log"), "origin", "log.origin");
    String vkey = text(root.path("log"), "verifier_key", "log.verifier_key");
    List<Signer> signers = new ArrayList<>();
    int i = 0;
    for (JsonNode s : root.path("signers")) {
      String where = "signers[" + i++ + "]";
      byte[] keyId;
      try {
        if (s.hasNonNull("public_key")) {
          keyId = Hashes.sha256(LinkKeys.readPublicKeyPem(s.get("public_key").asText()));
        } else if (s.hasNonNull("public_key_file") && baseDir != null) {
          Path f = baseDir.resolve(s.get("public_key_file").asText());
          try {
            keyId = Hashes.sha256(LinkKeys.readPublicKeyPem(Files.readString(f)));
          } catch (IOException e) {
            throw new PolicyException(where + ".public_key_file: cannot read " + f);
          }
        } else if (s.hasNonNull("key_id") && s.get("key_id").asText().matches("[0-9a-f]{64}")) {
          keyId = HexFormat.of().parseHex(s.get("key_id").asText());
        } else {
          throw new PolicyException(where + " needs public_key (PEM), public_key_file or key_id (64 lowercase hex)");
        }
      } catch (LinkException e) {
        throw new PolicyException(where + ".public_key: " + e.getMessage());
      }
      List<String> repos = new ArrayList<>();
      s.path("repositories").forEach(r -> repos.add(r.asText()));
      long min = s.path("layers").path("min").asLong(0);
      long max = s.path("layers").path("max").asLong(Long.MAX_VALUE);
      if (min < 0 || max < min) throw new PolicyException(where + ".layers must have 0 <= min <= max");
      signers.add(new Signer(s.path("name").asText(where), keyId, repos, min, max,
          instant(s, "valid_from", where), instant(s, "valid_until", where)));
    }
    int quorum = root.path("witnesses").path("quorum").asInt(0);
    List<String> witnesses = new ArrayList<>();
    root.path("witnesses").path("verifier_keys").forEach(w -> witnesses.add(w.asText()));
    if (quorum < 0 || quorum > witnesses.size()) {
      throw new PolicyException("witnesses.quorum must be between 0 and the number of witness keys");
    }
    TrustPolicy p = new TrustPolicy(origin, vkey, signers, quorum, witnesses);
    p.logVerifier(); // fail now, not at verification time, on a bad key
    p.witnessVerifiers();
    return p;
  }

  private static String text(JsonNode n, String field, String where) throws PolicyException {
    if (!n.hasNonNull(field) || n.get(field).asText().isEmpty()) throw new PolicyException("policy needs " + where);
    return n.get(field).asText();
  }

  private static Optional<Instant> instant(JsonNode s, String field, String where) throws PolicyException {
    if (!s.hasNonNull(field)) return Optional.empty();
    try {
      return Optional.of(Instant.parse(s.get(field).asText()));
    } catch (DateTimeParseException e) {
      throw new PolicyException(where + "." + field + " is not an RFC 3339 time like 2026-01-01T00:00:00Z");
    }
  }
}
