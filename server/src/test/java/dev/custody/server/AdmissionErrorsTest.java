package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.LinkVerifier;
import dev.custody.server.admission.AdmissionException;
import dev.custody.server.admission.LayerLinkAdmission;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.storage.LogStorage;
import java.nio.file.Path;
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
}
