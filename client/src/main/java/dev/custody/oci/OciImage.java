package dev.custody.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * What a verifier needs of an OCI image: the manifest's digest, its layers' digests and the
 * config's diff IDs (and the chain IDs they imply). Read from an OCI image layout directory
 * (index.json, blobs/sha256/…) or from manifest and config files; every digest is recomputed from
 * the bytes, never taken from a file name or a descriptor.
 */
public record OciImage(Digest manifestDigest, List<Digest> layerDigests, List<Digest> diffIds) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String REF_NAME = "org.opencontainers.image.ref.name";
  /** Manifests and configs are small; refuse to parse a huge file. */
  private static final long MAX_JSON_BYTES = 4 << 20;

  public OciImage {
    layerDigests = List.copyOf(layerDigests);
    diffIds = List.copyOf(diffIds);
  }

  public List<Digest> chainIds() {
    return ChainIds.of(diffIds);
  }

  public int layers() {
    return layerDigests.size();
  }

  /** The image named {@code ref} (a tag in index.json, or a manifest digest) in an OCI layout. */
  public static OciImage fromLayout(Path layout, String ref) throws IOException, LinkException {
    JsonNode index = json(Files.readAllBytes(layout.resolve("index.json")), "index.json");
    Digest manifest = null;
    List<String> tags = new ArrayList<>();
    for (JsonNode m : index.path("manifests")) {
      String name = m.path("annotations").path(REF_NAME).asText(null);
      if (name != null) tags.add(name);
      if (ref.equals(name) || ref.equals(m.path("digest").asText())) manifest = Digest.parse(m.path("digest").asText());
    }
    if (manifest == null) {
      throw new LinkException("no image \"" + ref + "\" in " + layout + "; tags there: " + String.join(", ", tags));
    }
    byte[] manifestBytes = blob(layout, manifest);
    Digest configDigest = Digest.parse(json(manifestBytes, "manifest").path("config").path("digest").asText());
    return parse(manifestBytes, blob(layout, configDigest));
  }

  /** The image from its manifest and config bytes; the manifest's digest is computed here. */
  public static OciImage parse(byte[] manifestBytes, byte[] configBytes) throws LinkException {
    JsonNode manifest = json(manifestBytes, "manifest");
    JsonNode config = json(configBytes, "config");
    Digest configDigest = Digest.parse(manifest.path("config").path("digest").asText());
    if (!configDigest.equals(Digest.sha256Of(configBytes))) {
      throw new LinkException("the config's bytes do not match the digest the manifest gives for it");
    }
    List<Digest> layers = new ArrayList<>();
    for (JsonNode l : manifest.path("layers")) layers.add(Digest.parse(l.path("digest").asText()));
    List<Digest> diffIds = new ArrayList<>();
    for (JsonNode d : config.path("rootfs").path("diff_ids")) diffIds.add(Digest.parse(d.asText()));
    if (layers.size() != diffIds.size()) {
      throw new LinkException("manifest lists " + layers.size() + " layers but the config " + diffIds.size() + " diff_ids");
    }
    if (layers.isEmpty()) throw new LinkException("image has no layers");
    return new OciImage(Digest.sha256Of(manifestBytes), layers, diffIds);
  }

  /**
   * Checks every layer blob present in the layout: its bytes hash to its digest and, uncompressed,
   * to its diff ID. A layer whose blob is absent is skipped (a layout may hold only manifests).
   *
   * @return the number of layer blobs checked
   */
  public int checkLayerBlobs(Path layout) throws IOException, LinkException {
    int checked = 0;
    for (int i = 0; i < layers(); i++) {
      Path p = blobPath(layout, layerDigests.get(i));
      if (!Files.exists(p)) continue;
      // Two passes: the blob's own digest first, so that a tampered blob is named as such
      // rather than as whatever decompressing it happens to trip over.
      MessageDigest compressed = sha256();
      try (InputStream in = new DigestInputStream(Files.newInputStream(p), compressed)) {
        in.transferTo(java.io.OutputStream.nullOutputStream());
      }
      if (!new Digest(compressed.digest()).equals(layerDigests.get(i))) {
        throw new LinkException("layer " + i + " blob does not match its digest " + layerDigests.get(i) + " (tampered?)");
      }
      MessageDigest uncompressed = sha256();
      try (InputStream raw = new java.io.BufferedInputStream(Files.newInputStream(p))) {
        raw.mark(2);
        boolean gzip = raw.read() == 0x1f && raw.read() == 0x8b;
        raw.reset();
        try (InputStream content = new DigestInputStream(gzip ? new GZIPInputStream(raw) : raw, uncompressed)) {
          content.transferTo(java.io.OutputStream.nullOutputStream());
        }
      } catch (java.util.zip.ZipException e) {
        throw new LinkException("layer " + i + " blob is not valid gzip: " + e.getMessage());
      }
      if (!new Digest(uncompressed.digest()).equals(diffIds.get(i))) {
        throw new LinkException("layer " + i + " content does not match its diff_id " + diffIds.get(i) + " (tampered?)");
      }
      checked++;
    }
    return checked;
  }

  private static byte[] blob(Path layout, Digest d) throws IOException, LinkException {
    Path p = blobPath(layout, d);
    if (Files.size(p) > MAX_JSON_BYTES) throw new LinkException("blob " + d + " is too large for a manifest or config");
    byte[] b = Files.readAllBytes(p);
    if (!Digest.sha256Of(b).equals(d)) throw new LinkException("blob " + d + " does not match its digest (tampered?)");
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
