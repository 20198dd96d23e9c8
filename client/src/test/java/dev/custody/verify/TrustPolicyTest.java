package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.LinkKeys;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Policies fail closed: a wrong type, an unknown field or a duplicate witness is an error, never a
 * default.
 */
class TrustPolicyTest {
  private static final String LOG_VKEY =
      Ed25519NoteKeys.generate("policy.test/log", new SecureRandom()).verifier().vkey();
  private static final String WITNESS_VKEY =
      Ed25519NoteKeys.generate("policy.test/w1", Ed25519NoteKeys.COSIGNATURE, new SecureRandom())
          .verifier()
          .vkey();
  private static final String PEM =
      LinkKeys.generate(LinkKeys.Scheme.ED25519).publicKeyPem().replace("\n", "\\n");

  private static String policy(String signerExtra, String rootExtra) {
    return """
        {"log": {"origin": "policy.test/log", "verifier_key": "%s"},
         "signers": [{"name": "base", "public_key": "%s"%s}]%s}
        """
        .formatted(LOG_VKEY, PEM, signerExtra, rootExtra);
  }

  private static TrustPolicy parse(String json) throws PolicyException {
    return TrustPolicy.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  private static String refused(String json) {
    return assertThrows(PolicyException.class, () -> parse(json), json).getMessage();
  }

  @Test
  void aWellFormedPolicyParses() throws Exception {
    TrustPolicy p =
        parse(
            policy(
                ", \"repositories\": [\"registry.example/base/*\"]",
                ", \"witnesses\": {\"quorum\": 1, \"verifier_keys\": [\"" + WITNESS_VKEY + "\"]}"));
    assertEquals(List.of("registry.example/base/*"), p.signers().get(0).repositories());
    assertEquals(1, p.witnessQuorum());
  }

  @Test
  void wrongTypesAreErrorsNotDefaults() {
    // A string where a list belongs used to mean "any repository".
    assertTrue(
        refused(policy(", \"repositories\": \"registry.example/base/*\"", ""))
            .contains("signers[0].repositories must be a list of strings"));
    // "two" used to be a quorum of 0.
    assertTrue(
        refused(
                policy(
                    "",
                    ", \"witnesses\": {\"quorum\": \"two\", \"verifier_keys\": [\""
                        + WITNESS_VKEY
                        + "\"]}"))
            .contains("witnesses.quorum must be a whole number"));
    assertTrue(
        refused(policy(", \"layers\": {\"min\": \"0\"}", ""))
            .contains("layers.min must be a whole number"));
    assertTrue(
        refused(policy(", \"layers\": {\"min\": 1.5}", ""))
            .contains("layers.min must be a whole number"));
    assertTrue(
        refused(policy(", \"repositories\": [7]", ""))
            .contains("repositories[0] must be a non-empty string"));
    assertTrue(
        refused(policy(", \"valid_until\": 2027", "")).contains("valid_until must be a string"));
    assertTrue(
        refused("{\"log\": \"policy.test/log\"}").contains("policy.log must be a JSON object"));
    assertTrue(refused("[]").contains("policy must be a JSON object"));
  }

  @Test
  void unknownFieldsAreErrorsSoThatMisspellingsShow() {
    assertTrue(
        refused(policy(", \"repositoris\": [\"registry.example/base/*\"]", ""))
            .contains("unknown field \"repositoris\""));
    assertTrue(refused(policy("", ", \"witness\": {}")).contains("unknown field \"witness\""));
    assertTrue(
        refused(policy(", \"layers\": {\"minimum\": 0}", ""))
            .contains("unknown field \"minimum\""));
  }

  @Test
  void aWitnessListedTwiceIsAnErrorAndCountsOnce() {
    assertTrue(
        refused(
                policy(
                    "",
                    ", \"witnesses\": {\"quorum\": 2, \"verifier_keys\": [\""
                        + WITNESS_VKEY
                        + "\", \""
                        + WITNESS_VKEY
                        + "\"]}"))
            .contains("lists a witness twice"));
    assertTrue(
        refused(
                policy(
                    "",
                    ", \"witnesses\": {\"quorum\": 2, \"verifier_keys\": [\""
                        + WITNESS_VKEY
                        + "\"]}"))
            .contains("witnesses.quorum must be between 0 and 1"));
  }

  @Test
  void aKeyGivenTwiceInOneObjectIsAnError() {
    assertTrue(
        refused(policy(", \"layers\": {\"min\": 0}, \"layers\": {\"min\": 5}", ""))
            .contains("Duplicate field"));
  }

  @Test
  void aSignerNeedsExactlyOneKey() {
    assertTrue(
        refused(policy(", \"key_id\": \"" + "ab".repeat(32) + "\"", ""))
            .contains("exactly one of"));
  }

  /** While a log rotates its key: several keys, each opening checkpoints only within its window. */
  @Test
  void logKeysWithWindowsOpenCheckpointsOnlyInTheirWindow() throws Exception {
    Ed25519NoteKeys.Signer oldKey = Ed25519NoteKeys.generate("policy.test/log", new SecureRandom());
    Ed25519NoteKeys.Signer newKey = Ed25519NoteKeys.generate("policy.test/log", new SecureRandom());
    String json =
        """
        {"log": {"origin": "policy.test/log", "verifier_keys": [
           {"key": "%s", "valid_until": "2027-01-01T00:00:00Z"},
           {"key": "%s", "valid_from": "2026-12-01T00:00:00Z"}]}}
        """
            .formatted(oldKey.verifier().vkey(), newKey.verifier().vkey());
    TrustPolicy p = parse(json);
    Checkpoint cp = new Checkpoint("policy.test/log", 5, Hashes.emptyRoot());
    String byOld = SignedNote.sign(cp.text(), oldKey).format();
    String byNew = SignedNote.sign(cp.text(), newKey).format();
    String byBoth = SignedNote.sign(cp.text(), oldKey, newKey).format();
    Function<String, Clock> at = t -> Clock.fixed(Instant.parse(t), ZoneOffset.UTC);

    // Before the overlap only the old key is trusted; during it both; after it only the new one.
    var before = p.logVerifier(at.apply("2026-11-30T00:00:00Z"));
    assertEquals(5, before.verify(byOld).size());
    assertEquals(5, before.verify(byBoth).size());
    String early = assertThrows(CheckpointException.class, () -> before.verify(byNew)).getMessage();
    assertTrue(early.contains("trusted only from 2026-12-01T00:00:00Z"), early);
    var during = p.logVerifier(at.apply("2026-12-15T00:00:00Z"));
    for (String note : List.of(byOld, byNew, byBoth)) assertEquals(5, during.verify(note).size());
    var after = p.logVerifier(at.apply("2027-01-01T00:00:00Z"));
    assertEquals(5, after.verify(byNew).size());
    assertEquals(5, after.verify(byBoth).size());
    String late = assertThrows(CheckpointException.class, () -> after.verify(byOld)).getMessage();
    assertTrue(late.contains("trusted only until 2027-01-01T00:00:00Z"), late);
    // Our own stored record opens whatever key signed it: it was checked when stored.
    assertEquals(5, after.readOwn(byOld).size());
    // A bad signature by a trusted key rejects the note even if another trusted key signed well.
    int sig = byBoth.lastIndexOf(' ') + 1 + 8; // past the key ID: into the signature itself
    String tampered =
        byBoth.substring(0, sig)
            + (byBoth.charAt(sig) == 'A' ? 'B' : 'A')
            + byBoth.substring(sig + 1);
    assertThrows(CheckpointException.class, () -> during.verify(tampered));

    // One key, or a list: exactly one form, each key once, windows that are not empty.
    assertTrue(
        refused(
                json.replace(
                    "\"verifier_keys\"",
                    "\"verifier_key\": \"" + LOG_VKEY + "\", \"verifier_keys\""))
            .contains("exactly one of verifier_key"));
    assertTrue(
        refused("{\"log\": {\"origin\": \"policy.test/log\"}}")
            .contains("exactly one of verifier_key"));
    assertTrue(
        refused("{\"log\": {\"origin\": \"policy.test/log\", \"verifier_keys\": []}}")
            .contains("is empty"));
    assertTrue(
        refused(json.replace(newKey.verifier().vkey(), oldKey.verifier().vkey()))
            .contains("already listed"));
    assertTrue(
        refused(
                json.replace(
                    "\"valid_until\": \"2027-01-01T00:00:00Z\"",
                    "\"valid_from\": \"2027-01-01T00:00:00Z\", \"valid_until\": \"2026-01-01T00:00:00Z\""))
            .contains("valid_from must be before valid_until"));
    assertTrue(refused(json.replace("\"valid_until\"", "\"until\"")).contains("until"));
  }
}
