package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.LinkVerifier;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.admission.AdmissionException;
import dev.custody.server.admission.LayerLinkAdmission;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.sequencer.GroupCommitSequencer;
import dev.custody.server.storage.LogStorage;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each way an entry is refused has its own type, so that its status never depends on a flag or a
 * message.
 */
class AdmissionErrorsTest {
  @TempDir Path dir;

  @Test
  void eachRefusalHasItsType() throws Exception {
    try (LogStorage s = LogStorage.open(dir)) {
      LayerLinkAdmission links =
          new LayerLinkAdmission(new StoredLinks(s), LinkVerifier.bouncyCastle());
      assertThrows(AdmissionException.Malformed.class, () -> links.admit(new byte[0]));
      assertThrows(AdmissionException.Malformed.class, () -> links.admit(new byte[] {1, 2, 3}));
      assertThrows(AdmissionException.Malformed.class, () -> links.admit(new byte[1 << 20]));
      AdmissionException bad =
          assertThrows(
              AdmissionException.RuleViolation.class,
              () -> links.admit(TestLinks.flipLastByte(TestLinks.layerZero(1)).toByteArray()));
      assertTrue(bad.getMessage().startsWith("not a valid layer link"), bad.getMessage());
      assertThrows(
          AdmissionException.MissingPredecessor.class,
          () -> links.admit(TestLinks.onUnknownPredecessor().toByteArray()));
      assertEquals(32, links.admit(TestLinks.layerZero(1).toByteArray()).dedupKey().length);

      OpaqueAdmission opaque = new OpaqueAdmission();
      assertThrows(AdmissionException.Malformed.class, () -> opaque.admit(new byte[0]));
      assertThrows(AdmissionException.Malformed.class, () -> opaque.admit(new byte[65_536]));
    }
  }

  @Test
  void aLinkAdmittedButNeverLoggedIsNoPredecessorThoughAdmissionRemembersIt() throws Exception {
    try (LogStorage s = LogStorage.open(dir)) {
      LayerLinkAdmission links =
          new LayerLinkAdmission(new StoredLinks(s), LinkVerifier.bouncyCastle());
      var chain = TestLinks.chain(7, 2);
      // Layer 0 admitted (so remembered), never sequenced: layer 1 has nothing to stand on.
      var bottom = links.admit(chain.get(0).toByteArray());
      assertThrows(
          AdmissionException.MissingPredecessor.class,
          () -> links.admit(chain.get(1).toByteArray()));
      // Once the log holds it, layer 1 stands on it.
      try (GroupCommitSequencer seq =
          new GroupCommitSequencer(
              s,
              "t/log",
              List.of(Ed25519NoteKeys.generate("t/log", new SecureRandom())),
              10,
              10,
              (n, t) -> {})) {
        seq.add(bottom).get(10, TimeUnit.SECONDS);
      }
      assertEquals(32, links.admit(chain.get(1).toByteArray()).dedupKey().length);
    }
  }
}
