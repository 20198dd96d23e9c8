package dev.custody.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.oci.OciImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Image tarballs: an OCI archive ({@code skopeo copy … oci-archive:app.tar}, {@code buildah push …
 * oci-archive:…}) or a {@code docker save} of Docker 25 or later, which holds an OCI layout beside
 * Docker's own manifest.json. Both are an OCI image layout in a tar; this unpacks the layout's
 * files (index.json, oci-layout, blobs/sha256/*) and nothing else, refusing links, devices, paths
 * that leave the folder and archives larger than the cap. A {@code docker save} of an older Docker
 * has no OCI manifest at all (Docker writes it only when it pushes, compressing the layers then),
 * so there is no digest to sign: that is refused with the reason.
 */
final class Archives {
  private Archives() {}

  /** Most bytes unpacked from one archive: images are large, but not this large. */
  static final long MAX_ARCHIVE_BYTES = 64L << 30;

  /**
   * Unpacks the OCI layout in {@code tar} into {@code dir} (which must be empty); returns {@code
   * dir}.
   */
  static Path unpackLayout(Path tar, Path dir) throws IOException {
    boolean legacyDocker = false;
    long total = 0;
    try (InputStream raw = Files.newInputStream(tar);
        TarArchiveInputStream in = new TarArchiveInputStream(raw)) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        String name = e.getName();
        while (name.startsWith("./")) name = name.substring(2);
        if (name.equals("manifest.json")) legacyDocker = true;
        boolean wanted =
            name.equals("index.json")
                || name.equals("oci-layout")
                || name.matches("blobs/sha256/[0-9a-f]{64}");
        if (!wanted) continue;
        if (!e.isFile())
          throw new IOException(tar + ": " + name + " is not a regular file in the archive");
        total += e.getSize();
        if (total > MAX_ARCHIVE_BYTES)
          throw new IOException(tar + " unpacks to more than " + MAX_ARCHIVE_BYTES + " bytes");
        Path out = dir.resolve(name);
        Files.createDirectories(out.getParent());
        try (OutputStream o = Files.newOutputStream(out, StandardOpenOption.CREATE_NEW)) {
          in.transferTo(o); // bounded by the entry's size: the tar stream ends each entry there
        } catch (FileAlreadyExistsException dup) {
          throw new IOException(tar + " holds " + name + " twice; which one is meant?");
        }
      }
    } catch (IllegalArgumentException e) {
      throw new IOException(tar + " is not a readable tar archive: " + e.getMessage(), e);
    }
    if (!Files.exists(dir.resolve("index.json"))) {
      throw new IOException(
          tar
              + (legacyDocker
                  ? " is a docker save archive without an OCI layout (Docker before 25): its manifest digest is only made when "
                      + "docker pushes it, so there is nothing to sign yet. Save it with Docker 25 or later, or copy it to an "
                      + "OCI archive (skopeo copy docker-archive:IN oci-archive:OUT), or sign by reference after the push"
                  : " is neither an OCI archive nor a docker save archive (no index.json)"));
    }
    return dir;
  }

  /** The one image an unpacked archive holds, as a reference {@link OciImage#fromLayout} takes. */
  static String onlyImage(Path layout) throws IOException {
    JsonNode index = new ObjectMapper().readTree(layout.resolve("index.json").toFile());
    JsonNode manifests = index.path("manifests");
    if (manifests.size() != 1) {
      throw new IOException(
          "the archive holds "
              + manifests.size()
              + " images; name one with --image (a tag or manifest digest)");
    }
    return manifests.get(0).path("digest").asText();
  }

  /**
   * Removes an unpacked archive when the command ends: an image's blobs are too big to leave in
   * /tmp.
   */
  static void deleteOnExit(Path dir) {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try (var files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                  } catch (IOException ignored) {
                    // best effort: it is in the temporary folder
                  }
                }));
  }
}
