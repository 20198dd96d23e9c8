package dev.custody.verify;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteException;
import dev.custody.note.SignedNote;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Whom a verifier trusts: the log (origin and verifier keys), and the signers allowed per
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
 * A signer may give {@code "public_key_file"} (a PEM file, relative to the policy file) or {@code
 * "key_id"} (hex SHA-256 of the SPKI) instead of {@code public_key}. While a log rotates its key,
 * {@code "log"} lists each key with its own validity window instead of one {@code verifier_key}
 * (see {@link CheckpointVerifier}):
 *
 * <pre>{@code
 * "log": {"origin": "log.example/custody", "verifier_keys": [
 *   {"key": "log.example/custody+1234abcd+AQ...", "valid_until": "2027-03-01T00:00:00Z"},
 *   {"key": "log.example/custody+5678ef01+AQ...", "valid_from": "2026-12-01T00:00:00Z"}]}
 * }</pre>
 *
 * Repository patterns are exact names, or prefixes ending in {@code *}. Every field but the log and
 * each signer's key is optional; absent limits allow everything. Parsing is strict: a field of the
 * wrong type, an unknown field or a witness listed twice is an error, never a default.
 */
public record TrustPolicy(
    String origin,
    List<LogKey> logKeys,
    List<Signer> signers,
    int witnessQuorum,
    List<String> witnessKeys) {
  /** Strict: a key given twice in one object is an error, not "the last one wins". */
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  public record Signer(
      String name,
      byte[] keyId,
      List<String> repositories,
      long minLayer,
      long maxLayer,
      Optional<Instant> validFrom,
      Optional<Instant> validUntil) {
    boolean repositoryAllowed(String repo) {
      if (repositories.isEmpty()) return true;
      for (String p : repositories) {
        if (p.endsWith("*") ? repo.startsWith(p.substring(0, p.length() - 1)) : repo.equals(p))
          return true;
      }
      return false;
    }
  }

  /** A log key (C2SP verifier key) and the window in which this policy trusts it. */
  public record LogKey(
      String verifierKey, Optional<Instant> validFrom, Optional<Instant> validUntil) {}

  public TrustPolicy {
    logKeys = List.copyOf(logKeys);
    signers = List.copyOf(signers);
    witnessKeys = List.copyOf(witnessKeys);
  }

  /**
   * Opens the log's checkpoints with the policy's log keys, each in its window by the system clock.
   */
  public CheckpointVerifier logVerifier() throws PolicyException {
    return logVerifier(Clock.systemUTC());
  }

  public CheckpointVerifier logVerifier(Clock clock) throws PolicyException {
    List<CheckpointVerifier.LogKey> keys = new ArrayList<>();
    for (LogKey k : logKeys) {
      try {
        Ed25519NoteKeys.Verifier v = Ed25519NoteKeys.parseVerifierKey(k.verifierKey());
        if (v.type() != Ed25519NoteKeys.TYPE)
          throw new PolicyException(
              "policy log key " + k.verifierKey() + " must be a type 0x01 (log) key");
        keys.add(new CheckpointVerifier.LogKey(v, k.validFrom(), k.validUntil()));
      } catch (NoteException e) {
        throw new PolicyException("policy log key: " + e.getMessage());
      }
    }
    return new CheckpointVerifier(origin, keys, clock);
  }

  /** The witnesses' cosigner keys (C2SP tlog-cosignature, type 0x04). */
  public List<Ed25519NoteKeys.Verifier> witnessVerifiers() throws PolicyException {
    List<Ed25519NoteKeys.Verifier> out = new ArrayList<>();
    for (String w : witnessKeys) {
      try {
        Ed25519NoteKeys.Verifier v = Ed25519NoteKeys.parseVerifierKey(w);
        if (v.type() != Ed25519NoteKeys.COSIGNATURE)
          throw new PolicyException("witness key " + w + " is not a cosigner (type 0x04) key");
        out.add(v);
      } catch (NoteException e) {
        throw new PolicyException("witnesses.verifier_keys: " + e.getMessage());
      }
    }
    return out;
  }

  /**
   * How many distinct witnesses of this policy validly cosigned this checkpoint note (C2SP
   * tlog-cosignature); each witness counts once, whatever the note repeats.
   */
  public int witnessCosignatures(String note) {
    try {
      SignedNote n = SignedNote.parse(note);
      int count = 0;
      for (Ed25519NoteKeys.Verifier w : witnessVerifiers()) {
        try {
          n.verify(List.of(w));
          count++;
        } catch (NoteException notThisOne) {
          // absent or invalid: not counted
        }
      }
      return count;
    } catch (NoteException | PolicyException e) {
      return 0;
    }
  }

  /**
   * Why this checkpoint note falls short of the policy's witness quorum; empty when it meets it (or
   * the policy asks for none).
   */
  public Optional<String> witnessShortfall(String note) {
    if (witnessQuorum() == 0) return Optional.empty();
    int n = witnessCosignatures(note);
    if (n >= witnessQuorum()) return Optional.empty();
    return Optional.of(
        "the checkpoint carries "
            + n
            + " valid witness cosignature(s); the policy asks for "
            + witnessQuorum()
            + " (without them a log could show you a view others do not see)");
  }

  /**
   * True when some signer may sign for {@code repository}: an image of any other repository cannot
   * verify under this policy, whatever a registry says about it.
   */
  public boolean namesRepository(String repository) {
    return signers.stream().anyMatch(s -> s.repositoryAllowed(repository));
  }

  /** Throws with the reason unless some signer entry allows this link at this log time. */
  public void checkAllowed(SignedLink link, long logTimestampMs) throws PolicyException {
    byte[] keyId = link.keyId();
    String repo = link.statement().repository();
    long layer = link.statement().layerIndex();
    Instant at = Instant.ofEpochMilli(logTimestampMs);
    List<Signer> withKey = signers.stream().filter(s -> Arrays.equals(s.keyId, keyId)).toList();
    if (withKey.isEmpty()) {
      throw new PolicyException(
          "signed by a key the policy does not trust (key_id "
              + HexFormat.of().formatHex(keyId)
              + ")");
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
    throw window ? new PolicyException.OutsideValidity(why) : new PolicyException(why);
  }

  public static TrustPolicy read(Path file) throws IOException, PolicyException {
    return parse(Files.readAllBytes(file), file.toAbsolutePath().getParent());
  }

  public static TrustPolicy parse(byte[] json) throws PolicyException {
    return parse(json, null);
  }

  /**
   * @param baseDir where {@code public_key_file} paths are resolved; null forbids them
   */
  public static TrustPolicy parse(byte[] json, Path baseDir) throws PolicyException {
    return parse(json, baseDir, Set.of());
  }

  /**
   * Parses strictly ({@link StrictJson}): wrong types, unknown fields and duplicate witness keys
   * are errors, never defaults.
   *
   * @param extraFields top-level fields a caller reads itself (a monitor's {@code "watch"})
   */
  public static TrustPolicy parse(byte[] json, Path baseDir, Set<String> extraFields)
      throws PolicyException {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new PolicyException("policy is not valid JSON: " + e.getMessage());
    }
    Set<String> top = new HashSet<>(Set.of("log", "signers", "witnesses"));
    top.addAll(extraFields);
    StrictJson.object(root, "policy", top);
    JsonNode log =
        StrictJson.object(
            root.get("log"), "policy.log", Set.of("origin", "verifier_key", "verifier_keys"));
    String origin = StrictJson.string(log, "origin", "log");
    List<LogKey> logKeys = logKeys(log);
    List<Signer> signers = new ArrayList<>();
    List<JsonNode> signerNodes = StrictJson.array(root, "signers", "policy");
    for (int i = 0; i < signerNodes.size(); i++)
      signers.add(signer(signerNodes.get(i), "signers[" + i + "]", baseDir));
    int quorum = 0;
    List<String> witnesses = new ArrayList<>();
    if (root.hasNonNull("witnesses")) {
      JsonNode w =
          StrictJson.object(root.get("witnesses"), "witnesses", Set.of("quorum", "verifier_keys"));
      witnesses = StrictJson.strings(w, "verifier_keys", "witnesses");
      quorum = (int) StrictJson.integer(w, "quorum", "witnesses", 0, witnesses.size(), 0);
    }
    TrustPolicy p = new TrustPolicy(origin, logKeys, signers, quorum, witnesses);
    p.logVerifier(); // fail now, not at verification time, on a bad key
    List<Ed25519NoteKeys.Verifier> wv = p.witnessVerifiers();
    if (wv.stream().map(v -> HexFormat.of().formatHex(v.publicKey())).distinct().count()
        != wv.size()) {
      throw new PolicyException(
          "witnesses.verifier_keys lists a witness twice; each counts once toward the quorum");
    }
    return p;
  }

  private static List<LogKey> logKeys(JsonNode log) throws PolicyException {
    if (log.has("verifier_key") == log.has("verifier_keys")) {
      throw new PolicyException(
          "policy.log needs exactly one of verifier_key (one key) or verifier_keys (a list of keys with"
              + " validity windows, while the log rotates its key)");
    }
    if (log.has("verifier_key")) {
      return List.of(
          new LogKey(
              StrictJson.string(log, "verifier_key", "log"), Optional.empty(), Optional.empty()));
    }
    List<JsonNode> nodes = StrictJson.array(log, "verifier_keys", "log");
    if (nodes.isEmpty())
      throw new PolicyException("log.verifier_keys is empty; the log needs at least one key");
    List<LogKey> out = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      String where = "log.verifier_keys[" + i + "]";
      JsonNode k =
          StrictJson.object(nodes.get(i), where, Set.of("key", "valid_from", "valid_until"));
      LogKey key =
          new LogKey(
              StrictJson.string(k, "key", where),
              instant(k, "valid_from", where),
              instant(k, "valid_until", where));
      if (key.validFrom().isPresent()
          && key.validUntil().isPresent()
          && !key.validFrom().get().isBefore(key.validUntil().get())) {
        throw new PolicyException(where + ": valid_from must be before valid_until");
      }
      if (out.stream().anyMatch(o -> o.verifierKey().equals(key.verifierKey()))) {
        throw new PolicyException(
            where + " lists a key already listed; give each key once, with one window");
      }
      out.add(key);
    }
    return out;
  }

  private static final Set<String> SIGNER_FIELDS =
      Set.of(
          "name",
          "public_key",
          "public_key_file",
          "key_id",
          "repositories",
          "layers",
          "valid_from",
          "valid_until");

  private static Signer signer(JsonNode s, String where, Path baseDir) throws PolicyException {
    StrictJson.object(s, where, SIGNER_FIELDS);
    Optional<String> pem = StrictJson.optionalString(s, "public_key", where);
    Optional<String> file = StrictJson.optionalString(s, "public_key_file", where);
    Optional<String> id = StrictJson.optionalString(s, "key_id", where);
    if ((pem.isPresent() ? 1 : 0) + (file.isPresent() ? 1 : 0) + (id.isPresent() ? 1 : 0) != 1) {
      throw new PolicyException(
          where
              + " needs exactly one of public_key (PEM), public_key_file or key_id (64 lowercase hex)");
    }
    byte[] keyId;
    try {
      if (pem.isPresent()) {
        keyId = Hashes.sha256(LinkKeys.readPublicKeyPem(pem.get()));
      } else if (file.isPresent()) {
        if (baseDir == null)
          throw new PolicyException(
              where + ".public_key_file cannot be used here; give public_key");
        Path f = baseDir.resolve(file.get());
        try {
          keyId = Hashes.sha256(LinkKeys.readPublicKeyPem(Files.readString(f)));
        } catch (IOException e) {
          throw new PolicyException(where + ".public_key_file: cannot read " + f);
        }
      } else if (id.get().matches("[0-9a-f]{64}")) {
        keyId = HexFormat.of().parseHex(id.get());
      } else {
        throw new PolicyException(
            where + ".key_id must be 64 lowercase hex digits (SHA-256 of the key's SPKI)");
      }
    } catch (LinkException e) {
      throw new PolicyException(where + ".public_key: " + e.getMessage());
    }
    List<String> repos = StrictJson.strings(s, "repositories", where);
    long min = 0;
    long max = Long.MAX_VALUE;
    if (s.hasNonNull("layers")) {
      JsonNode l = StrictJson.object(s.get("layers"), where + ".layers", Set.of("min", "max"));
      min = StrictJson.integer(l, "min", where + ".layers", 0, 0xffffffffL, 0);
      max = StrictJson.integer(l, "max", where + ".layers", 0, Long.MAX_VALUE, Long.MAX_VALUE);
      if (max < min) throw new PolicyException(where + ".layers must have min <= max");
    }
    return new Signer(
        StrictJson.optionalString(s, "name", where).orElse(where),
        keyId,
        repos,
        min,
        max,
        instant(s, "valid_from", where),
        instant(s, "valid_until", where));
  }

  private static Optional<Instant> instant(JsonNode s, String field, String where)
      throws PolicyException {
    Optional<String> t = StrictJson.optionalString(s, field, where);
    if (t.isEmpty()) return Optional.empty();
    try {
      return Optional.of(Instant.parse(t.get()));
    } catch (DateTimeParseException e) {
      throw new PolicyException(
          where + "." + field + " is not an RFC 3339 time like 2026-01-01T00:00:00Z");
    }
  }
}
