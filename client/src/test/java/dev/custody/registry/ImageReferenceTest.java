package dev.custody.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * References are normalised as Docker normalises them, and bad ones are refused with the reason.
 */
class ImageReferenceTest {
  static final String D = "sha256:" + "ab".repeat(32);

  @Test
  void dockerHubShortNamesExpandAsDockerExpandsThem() {
    ImageReference nginx = ImageReference.parse("nginx");
    assertEquals("docker.io/library/nginx", nginx.repositoryName());
    assertEquals("latest", nginx.tag());
    assertEquals("registry-1.docker.io", nginx.apiHost());
    assertEquals("docker.io/team/app", ImageReference.parse("team/app:1.0").repositoryName());
    assertEquals(
        "docker.io/library/alpine",
        ImageReference.parse("index.docker.io/alpine").repositoryName());
    assertEquals(
        "docker.io/library/alpine", ImageReference.parse("docker.io/alpine:3").repositoryName());
  }

  @Test
  void hostsPortsTagsAndDigests() {
    ImageReference r = ImageReference.parse("localhost:5000/team/app:v1.2-rc@" + D);
    assertEquals("localhost:5000", r.registry());
    assertEquals("team/app", r.repository());
    assertEquals("v1.2-rc", r.tag());
    assertEquals(D, r.digest());
    assertEquals(D, r.manifestReference(), "the digest pins the bytes, not the tag");
    ImageReference byDigest = ImageReference.parse("registry.example/a/b/c@" + D);
    assertNull(byDigest.tag());
    assertEquals("registry.example/a/b/c", byDigest.repositoryName());
    assertEquals("localhost/app", ImageReference.parse("localhost/app").repositoryName());
    assertEquals("[::1]:5000/app", ImageReference.parse("[::1]:5000/app:1").repositoryName());
    assertEquals(
        "registry.example:443/app:1",
        ImageReference.parse("registry.example:443/app:1").toString());
  }

  @Test
  void badReferencesAreRefusedWithTheReason() {
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("Team/App"))
            .getMessage()
            .contains("not a valid repository path component"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("app@sha256:abc"))
            .getMessage()
            .contains("64 lowercase hex"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> ImageReference.parse("app:" + "t".repeat(129)))
            .getMessage()
            .contains("not a valid tag"));
    assertThrows(IllegalArgumentException.class, () -> ImageReference.parse(""));
    assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("registry.example/"));
    assertThrows(
        IllegalArgumentException.class, () -> ImageReference.parse("registry.example//app"));
    assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("a/../b"));
    assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("x".repeat(600)));
  }
}
