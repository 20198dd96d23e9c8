package dev.custody.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * What a verifier needs of an OCI image: the manifest's digest, its layers' digests and the
 * config's diff IDs (and the chain IDs they imply). Read from an OCI image layout directory
 * (index.json, blobs/sha256/…) or from manifest and config files; every digest is recomputed from
 * the bytes, never taken from a file name or a descriptor.
 */
public record OciImage(
    Digest manifestDigest,
    List<Digest> layerDigests,
    List<Digest> diffIds,
    List<Layer> layerDescriptors) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String REF_NAME = "org.opencontainers.image.ref.name";

  /** Manifests, configs and index.json are small; refuse to read a huge file. */
  private static final long MAX_JSON_BYTES = 4 << 20;

  /**
   * Most a layer may hold uncompressed before the check gives up on it: a decompression bomb ends
   * here.
   */
  public static final long DEFAULT_MAX_LAYER_BYTES = 8L << 30;

  /**
   * What the manifest says of a layer blob: its media type and its size in bytes (-1 when absent).
   */
  public record Layer(String mediaType, long size) {}

  public OciImage {
    layerDigests = List.copyOf(layerDigests);
    diffIds = List.copyOf(diffIds);
    layerDescriptors = List.copyOf(layerDescriptors);
  }

  /** An image known only by its digests (no descriptors to check blobs against). */
  public OciImage(Digest manifestDigest, List<Digest> layerDigests, List<Digest> diffIds) {
    this(
        manifestDigest,
        layerDigests,
        diffIds,
        layerDigests.stream().map(d -> new Layer("", -1)).toList());
  }

  public List<Digest> chainIds() {
    return ChainIds.of(diffIds);
  }

  public int layers() {
    return layerDigests.size();
  }

  /**
   * The image named {@code ref} (a tag in index.json, or a manifest digest) in an OCI layout. A
   * layout is untrusted input: every file read must be a regular file inside it (no symbolic link,
   * no device, no FIFO) of at most the size its descriptor gives, and a tag must name one image.
   */
  public static OciImage fromLayout(Path layout, String ref) throws IOException, LinkException {
    JsonNode index =
        json(
            LayoutFiles.read(layout, layout.resolve("index.json"), -1, MAX_JSON_BYTES),
            "index.json");
    JsonNode chosen = null;
    List<String> tags = new ArrayList<>();
    for (JsonNode m : index.path("manifests")) {
      String name = m.path("annotations").path(REF_NAME).asText(null);
      if (name != null) {
        if (tags.contains(name))
          throw new LinkException(
              "index.json names tag \"" + name + "\" twice; which image is meant?");
        tags.add(name);
      }
      if (ref.equals(name) || ref.equals(m.path("digest").asText())) {
        if (chosen != null && !chosen.path("digest").asText().equals(m.path("digest").asText())) {
          throw new LinkException("\"" + ref + "\" names two different images in index.json");
        }
        chosen = m;
      }
    }
    if (chosen == null) {
      throw new LinkException(
          "no image \"" + ref + "\" in " + layout + "; tags there: " + String.join(", ", tags));
    }
    Digest manifest = Digest.parse(chosen.path("digest").asText());
    byte[] manifestBytes = blob(layout, manifest, chosen.path("size").asLong(-1));
    JsonNode config = json(manifestBytes, "manifest").path("config");
    Digest configDigest = Digest.parse(config.path("digest").asText());
    return parse(manifestBytes, blob(layout, configDigest, config.path("size").asLong(-1)));
  }

  /** The image from its manifest and config bytes; the manifest's digest is computed here. */
  public static OciImage parse(byte[] manifestBytes, byte[] configBytes) throws LinkException {
    JsonNode manifest = json(manifestBytes, "manifest");
    JsonNode config = json(configBytes, "config");
    Digest configDigest = Digest.parse(manifest.path("config").path("digest").asText());
    if (!configDigest.equals(Digest.sha256Of(configBytes))) {
      throw new LinkException(
          "the config's bytes do not match the digest the manifest gives for it");
    }
    List<Digest> layers = new ArrayList<>();
    List<Layer> descriptors = new ArrayList<>();
    for (JsonNode l : manifest.path("layers")) {
      layers.add(Digest.parse(l.path("digest").asText()));
      long size = l.path("size").asLong(-1);
      if (l.has("size") && (!l.get("size").canConvertToExactIntegral() || size < 0)) {
        throw new LinkException("a layer descriptor's size is not a non-negative whole number");
      }
      descriptors.add(new Layer(l.path("mediaType").asText(""), size));
    }
    List<Digest> diffIds = new ArrayList<>();
    for (JsonNode d : config.path("rootfs").path("diff_ids")) diffIds.add(Digest.parse(d.asText()));
    if (layers.size() != diffIds.size()) {
      throw new LinkException(
          "manifest lists "
              + layers.size()
              + " layers but the config "
              + diffIds.size()
              + " diff_ids");
    }
    if (layers.isEmpty()) throw new LinkException("image has no layers");
    return new OciImage(Digest.sha256Of(manifestBytes), layers, diffIds, descriptors);
  }

  /** {@link #checkLayerBlobs(Path, long)} with {@link #DEFAULT_MAX_LAYER_BYTES}. */
  public int checkLayerBlobs(Path layout) throws IOException, LinkException {
    return checkLayerBlobs(layout, DEFAULT_MAX_LAYER_BYTES);
  }

  /**
   * Checks every layer blob present in the layout: its bytes hash to its digest and, uncompressed,
   * to its diff ID. A layer whose blob is absent is skipped (a layout may hold only manifests). A
   * blob is read only if it is a regular file of exactly its descriptor's size, and decompressed to
   * at most {@code maxLayerBytes}; gzip and plain tar are read, zstd is refused by name.
   *
   * @return the number of layer blobs checked
   */
  public int checkLayerBlobs(Path layout, long maxLayerBytes) throws IOException, LinkException {
    int checked = 0;
    for (int i = 0; i < layers(); i++) {
      Path p = blobPath(layout, layerDigests.get(i));
      if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) continue;
      Layer desc = layerDescriptors.get(i);
      String type = desc.mediaType();
      if (type.endsWith("+zstd") || type.endsWith(".zstd")) {
        throw new LinkException(
            "layer "
                + i
                + " is zstd-compressed ("
                + type
                + "): unsupported compression, so its "
                + "diff_id cannot be checked; recompress with gzip or verify with --manifest and --config");
      }
      // Two passes: the blob's own digest first, so that a tampered blob is named as such
      // rather than as whatever decompressing it happens to trip over.
      MessageDigest compressed = sha256();
      try (InputStream in =
          new DigestInputStream(LayoutFiles.open(layout, p, desc.size()), compressed)) {
        in.transferTo(OutputStream.nullOutputStream());
      }
      if (!new Digest(compressed.digest()).equals(layerDigests.get(i))) {
        throw new LinkException(
            "layer "
                + i
                + " blob does not match its digest "
                + layerDigests.get(i)
                + " (tampered?)");
      }
      MessageDigest uncompressed = sha256();
      try (InputStream raw = new BufferedInputStream(LayoutFiles.open(layout, p, desc.size()))) {
        raw.mark(4);
        int b0 = raw.read();
        int b1 = raw.read();
        int b2 = raw.read();
        int b3 = raw.read();
        raw.reset();
        boolean gzip = b0 == 0x1f && b1 == 0x8b;
        if (b0 == 0x28 && b1 == 0xb5 && b2 == 0x2f && b3 == 0xfd) {
          throw new LinkException(
              "layer "
                  + i
                  + " is zstd-compressed: unsupported compression, so its diff_id cannot be "
                  + "checked");
        }
        InputStream content =
            LayoutFiles.capped(
                gzip ? new GZIPInputStream(raw) : raw,
                maxLayerBytes,
                "layer "
                    + i
                    + " decompresses to more than "
                    + maxLayerBytes
                    + " bytes (a decompression bomb?)");
        try (InputStream digesting = new DigestInputStream(content, uncompressed)) {
          digesting.transferTo(OutputStream.nullOutputStream());
        }
      } catch (ZipException e) {
        throw new LinkException("layer " + i + " blob is not valid gzip: " + e.getMessage());
      } catch (LayoutFiles.TooLargeException e) {
        throw new LinkException(e.getMessage());
      }
      if (!new Digest(uncompressed.digest()).equals(diffIds.get(i))) {
        throw new LinkException(
            "layer "
                + i
                + " content does not match its diff_id "
                + diffIds.get(i)
                + " (tampered?)");
      }
      checked++;
    }
    return checked;
  }

  private static byte[] blob(Path layout, Digest d, long size) throws IOException, LinkException {
    byte[] b;
    try {
      b = LayoutFiles.read(layout, blobPath(layout, d), size, MAX_JSON_BYTES);
    } catch (LayoutFiles.TooLargeException e) {
      throw new LinkException("blob " + d + ": " + e.getMessage());
    }
    if (!Digest.sha256Of(b).equals(d))
      throw new LinkException("blob " + d + " does not match its digest (tampered?)");
    return b;
  }

  private static Path blobPath(Path layout, Digest d) {
    return layout.resolve("blobs").resolve("sha256").resolve(d.toString().substring(7));
  }

  private static JsonNode json(byte[] b, String what) throws LinkException {
    if (b.length > MAX_JSON_BYTES) throw new LinkException(what + " is too large");
    try {
      return JSON.readTree(b);
    } catch (IOException e) {
      throw new LinkException(what + " is not valid JSON: " + e.getMessage());
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
