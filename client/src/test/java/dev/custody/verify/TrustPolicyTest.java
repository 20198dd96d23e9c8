package dev.custody.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.LinkKeys;
import dev.custody.note.Ed25519NoteKeys;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Policies fail closed: a wrong type, an unknown field or a duplicate witness is an error, never a default. */
class TrustPolicyTest {
  private static final String LOG_VKEY =
      Ed25519NoteKeys.generate("policy.test/log", new SecureRandom()).verifier().vkey();
  private static final String WITNESS_VKEY = Ed25519NoteKeys.generate("policy.test/w1", Ed25519NoteKeys.COSIGNATURE,
      new SecureRandom()).verifier().vkey();
  private static final String PEM = LinkKeys.generate(LinkKeys.Scheme.ED25519).publicKeyPem().replace("\n", "\\n");

  private static String policy(String signerExtra, String rootExtra) {
    return """
        {"log": {"origin": "policy.test/log", "verifier_key": "%s"},
         "signers": [{"name": "base", "public_key": "%s"%s}]%s}
        """.formatted(LOG_VKEY, PEM, signerExtra, rootExtra);
  }

  private static TrustPolicy parse(String json) throws PolicyException {
    return TrustPolicy.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  private static String refused(String json) {
    return assertThrows(PolicyException.class, () -> parse(json), json).getMessage();
  }

  @Test
  void aWellFormedPolicyParses() throws Exception {
    TrustPolicy p = parse(policy(", \"repositories\": [\"registry.example/base/*\"]",
        ", \"witnesses\": {\"quorum\": 1, \"verifier_keys\": [\"" + WITNESS_VKEY + "\"]}"));
    assertEquals(List.of("registry.example/base/*"), p.signers().get(0).repositories());
    assertEquals(1, p.witnessQuorum());
  }

  @Test
  void wrongTypesAreErrorsNotDefaults() {
    // A string where a list belongs used to mean "any repository".
    assertTrue(refused(policy(", \"repositories\": \"registry.example/base/*\"", ""))
        .contains("signers[0].repositories must be a list of strings"));
    // "two" used to be a quorum of 0.
    assertTrue(refused(policy("", ", \"witnesses\": {\"quorum\": \"two\", \"verifier_keys\": [\"" + WITNESS_VKEY + "\"]}"))
        .contains("witnesses.quorum must be a whole number"));
    assertTrue(refused(policy(", \"layers\": {\"min\": \"0\"}", "")).contains("layers.min must be a whole number"));
    assertTrue(refused(policy(", \"layers\": {\"min\": 1.5}", "")).contains("layers.min must be a whole number"));
    assertTrue(refused(policy(", \"repositories\": [7]", "")).contains("repositories[0] must be a non-empty string"));
    assertTrue(refused(policy(", \"valid_until\": 2027", "")).contains("valid_until must be a string"));
    assertTrue(refused("{\"log\": \"policy.test/log\"}").contains("policy.log must be a JSON object"));
    assertTrue(refused("[]").contains("policy must be a JSON object"));
  }

  @Test
  void unknownFieldsAreErrorsSoThatMisspellingsShow() {
    assertTrue(refused(policy(", \"repositoris\": [\"registry.example/base/*\"]", ""))
        .contains("unknown field \"repositoris\""));
    assertTrue(refused(policy("", ", \"witness\": {}")).contains("unknown field \"witness\""));
    assertTrue(refused(policy(", \"layers\": {\"minimum\": 0}", "")).contains("unknown field \"minimum\""));
  }

  @Test
  void aWitnessListedTwiceIsAnErrorAndCountsOnce() {
    assertTrue(refused(policy("", ", \"witnesses\": {\"quorum\": 2, \"verifier_keys\": [\"" + WITNESS_VKEY + "\", \""
        + WITNESS_VKEY + "\"]}")).contains("lists a witness twice"));
    assertTrue(refused(policy("", ", \"witnesses\": {\"quorum\": 2, \"verifier_keys\": [\"" + WITNESS_VKEY + "\"]}"))
        .contains("witnesses.quorum must be between 0 and 1"));
  }

  @Test
  void aKeyGivenTwiceInOneObjectIsAnError() {
    assertTrue(refused(policy(", \"layers\": {\"min\": 0}, \"layers\": {\"min\": 5}", ""))
        .contains("Duplicate field"));
  }

  @Test
  void aSignerNeedsExactlyOneKey() {
    assertTrue(refused(policy(", \"key_id\": \"" + "ab".repeat(32) + "\"", "")).contains("exactly one of"));
  }
}
