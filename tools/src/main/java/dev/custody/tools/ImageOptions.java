package dev.custody.tools;

import dev.custody.chain.LinkException;
import dev.custody.oci.OciImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Which image: an OCI layout and a tag, or its manifest and config files. */
final class ImageOptions {
  @Option(names = "--layout", description = "OCI image layout directory (with --image)")
  Path layout;

  @Option(names = "--image", description = "Tag or manifest digest in --layout")
  String image;

  @Option(names = "--manifest", description = "Instead of a layout: the image manifest file (with --config)")
  Path manifest;

  @Option(names = "--config", description = "The image config file (with --manifest)")
  Path config;

  OciImage load() throws IOException, LinkException {
    if (layout != null && image != null) {
      OciImage img = OciImage.fromLayout(layout, image);
      img.checkLayerBlobs(layout);
      return img;
    }
    if (manifest != null && config != null) return OciImage.parse(Files.readAllBytes(manifest), Files.readAllBytes(config));
    throw new IllegalArgumentException("name the image: --layout DIR --image TAG, or --manifest FILE --config FILE");
  }
}
