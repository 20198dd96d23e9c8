package dev.custody.tools;

import dev.custody.chain.LinkException;
import dev.custody.oci.OciImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Which image: an OCI layout and a tag, an image tarball, or its manifest and config files. */
final class ImageOptions {
  @Option(names = "--layout", description = "OCI image layout directory (with --image)")
  Path layout;

  @Option(
      names = "--archive",
      description =
          "An image tarball instead of a layout: an OCI archive or a docker save "
              + "of Docker 25+ (--image picks one image when it holds several)")
  Path archive;

  @Option(names = "--image", description = "Tag or manifest digest in --layout or --archive")
  String image;

  @Option(
      names = "--manifest",
      description = "Instead of a layout: the image manifest file (with --config)")
  Path manifest;

  @Option(names = "--config", description = "The image config file (with --manifest)")
  Path config;

  @Option(
      names = "--max-layer-size",
      defaultValue = "8589934592",
      description =
          "Most bytes a layer may decompress to "
              + "before the check refuses it (a decompression bomb). Default: 8 GiB")
  long maxLayerBytes;

  /**
   * The image's manifest and config: enough to verify its chain. The layer blobs are checked by
   * {@link #checkBlobs}.
   */
  OciImage load() throws IOException, LinkException {
    if (archive != null) {
      if (layout != null)
        throw new IllegalArgumentException("give --layout or --archive, not both");
      Path dir = Files.createTempDirectory("custody-archive");
      Archives.deleteOnExit(dir);
      layout = Archives.unpackLayout(archive, dir);
      if (image == null) image = Archives.onlyImage(layout);
    }
    if (layout != null && image != null) return OciImage.fromLayout(layout, image);
    if (manifest != null && config != null)
      return OciImage.parse(Files.readAllBytes(manifest), Files.readAllBytes(config));
    throw new IllegalArgumentException(
        "name the image: --layout DIR --image TAG, --archive FILE, or --manifest FILE --config FILE");
  }

  /**
   * Checks the layer blobs a layout holds against the image's digests and diff IDs; nothing without
   * a layout.
   */
  void checkBlobs(OciImage img) throws IOException, LinkException {
    if (layout != null) img.checkLayerBlobs(layout, maxLayerBytes);
  }
}
