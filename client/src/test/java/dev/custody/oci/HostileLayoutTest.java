package dev.custody.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.chain.Digest;
import dev.custody.chain.LinkException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An OCI layout from anywhere must not make us read outside it, or without bound. A blob that is a
 * symbolic link (to /dev/zero), a FIFO, a gzip bomb, a zstd layer, a blob larger than its
 * descriptor and a tag listed twice are each refused with a message that says what is wrong —
 * without hanging, and without reading more than the descriptors promise.
 */
class HostileLayoutTest {
  @TempDir Path dir;

  private static byte[] gzip(byte[] data) throws Exception {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(o)) {
      g.write(data);
    }
    return o.toByteArray();
  }

  private Path blob(Path layout, byte[] b) throws Exception {
    Path p = layout.resolve("blobs/sha256/" + Digest.sha256Of(b).toString().substring(7));
    Files.createDirectories(p.getParent());
    Files.write(p, b);
    return p;
  }

  /**
   * A one-layer layout tagged "app" (twice with {@code duplicateTag}); returns the layer blob's
   * path.
   */
  private Path layout(
      Path layout, byte[] layerBlob, byte[] content, String mediaType, boolean duplicateTag)
      throws Exception {
    Files.createDirectories(layout);
    Path layer = blob(layout, layerBlob);
    Digest layerDigest = Digest.sha256Of(layerBlob);
    byte[] config =
        ("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + Digest.sha256Of(content) + "\"]}}")
            .getBytes(StandardCharsets.UTF_8);
    blob(layout, config);
    byte[] manifest =
        ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                + "\"digest\":\""
                + Digest.sha256Of(config)
                + "\",\"size\":"
                + config.length
                + "},\"layers\":[{\"mediaType\":\""
                + mediaType
                + "\",\"digest\":\""
                + layerDigest
                + "\",\"size\":"
                + layerBlob.length
                + "}]}")
            .getBytes(StandardCharsets.UTF_8);
    blob(layout, manifest);
    String entry =
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\""
            + Digest.sha256Of(manifest)
            + "\",\"size\":"
            + manifest.length
            + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"app\"}}";
    Files.writeString(
        layout.resolve("index.json"),
        "{\"schemaVersion\":2,\"manifests\":["
            + entry
            + (duplicateTag
                ? ","
                    + entry.replace(
                        Digest.sha256Of(manifest).toString(), Digest.sha256Of(config).toString())
                : "")
            + "]}");
    return layer;
  }

  private static final String GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

  @Test
  void anHonestLayoutStillChecks() throws Exception {
    byte[] content = "a small tar, as far as hashing goes".getBytes(StandardCharsets.UTF_8);
    layout(dir, gzip(content), content, GZIP, false);
    assertEquals(1, OciImage.fromLayout(dir, "app").checkLayerBlobs(dir));
  }

  @Test
  void aBlobThatIsASymbolicLinkToDevZeroIsRefused() throws Exception {
    byte[] content = "x".getBytes(StandardCharsets.UTF_8);
    Path layer = layout(dir, gzip(content), content, GZIP, false);
    Files.delete(layer);
    Files.createSymbolicLink(layer, Path.of("/dev/zero"));
    OciImage img = OciImage.fromLayout(dir, "app");
    LinkException e = assertThrows(LinkException.class, () -> img.checkLayerBlobs(dir));
    assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
  }

  @Test
  void aFifoIsRefusedWithoutHanging() throws Exception {
    byte[] content = "y".getBytes(StandardCharsets.UTF_8);
    Path layer = layout(dir, gzip(content), content, GZIP, false);
    Files.delete(layer);
    assertEquals(0, new ProcessBuilder("mkfifo", layer.toString()).start().waitFor());
    OciImage img = OciImage.fromLayout(dir, "app");
    CompletableFuture<Throwable> f =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                img.checkLayerBlobs(dir);
                return null;
              } catch (Exception e) {
                return e;
              }
            });
    Throwable e = f.get(10, TimeUnit.SECONDS);
    assertTrue(
        e instanceof LinkException && e.getMessage().contains("not a regular file"),
        String.valueOf(e));
  }

  @Test
  void aGzipBombStopsAtTheLimit() throws Exception {
    byte[] content = new byte[64 << 20]; // 64 MiB of zeros: 64 KiB compressed
    byte[] bomb = gzip(content);
    layout(dir, bomb, content, GZIP, false);
    OciImage img = OciImage.fromLayout(dir, "app");
    LinkException e = assertThrows(LinkException.class, () -> img.checkLayerBlobs(dir, 1 << 20));
    assertTrue(e.getMessage().contains("decompresses to more than"), e.getMessage());
    assertEquals(
        1, img.checkLayerBlobs(dir, 128L << 20), "the same layer under a higher limit checks");
  }

  @Test
  void aZstdLayerIsNamedAsUnsupported() throws Exception {
    byte[] blob = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0, 0, 0, 0};
    layout(dir, blob, blob, "application/vnd.oci.image.layer.v1.tar+zstd", false);
    LinkException e =
        assertThrows(
            LinkException.class, () -> OciImage.fromLayout(dir, "app").checkLayerBlobs(dir));
    assertTrue(e.getMessage().contains("unsupported compression"), e.getMessage());
    Path other = dir.resolve("sniffed");
    layout(other, blob, blob, "application/vnd.oci.image.layer.v1.tar", false);
    LinkException sniffed =
        assertThrows(
            LinkException.class, () -> OciImage.fromLayout(other, "app").checkLayerBlobs(other));
    assertTrue(sniffed.getMessage().contains("unsupported compression"), sniffed.getMessage());
  }

  @Test
  void aBlobLargerThanItsDescriptorIsRefusedUnread() throws Exception {
    byte[] content = "z".getBytes(StandardCharsets.UTF_8);
    Path layer = layout(dir, gzip(content), content, GZIP, false);
    Files.write(layer, new byte[1 << 20], StandardOpenOption.APPEND);
    LinkException e =
        assertThrows(
            LinkException.class, () -> OciImage.fromLayout(dir, "app").checkLayerBlobs(dir));
    assertTrue(e.getMessage().contains("its descriptor says"), e.getMessage());
  }

  @Test
  void aTagListedTwiceIsAnError() throws Exception {
    byte[] content = "w".getBytes(StandardCharsets.UTF_8);
    layout(dir, gzip(content), content, GZIP, true);
    LinkException e = assertThrows(LinkException.class, () -> OciImage.fromLayout(dir, "app"));
    assertTrue(e.getMessage().contains("twice"), e.getMessage());
  }

  @Test
  void anIndexThatIsASymbolicLinkIsRefused() throws Exception {
    byte[] content = "v".getBytes(StandardCharsets.UTF_8);
    layout(dir, gzip(content), content, GZIP, false);
    Path real = dir.resolve("elsewhere.json");
    Files.move(dir.resolve("index.json"), real);
    Files.createSymbolicLink(dir.resolve("index.json"), real);
    LinkException e = assertThrows(LinkException.class, () -> OciImage.fromLayout(dir, "app"));
    assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
  }
}
