package dev.custody.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.verify.Bundle;
import dev.custody.verify.PolicyException;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Custody's offline bundles as OCI 1.1 referrers of the image they prove: an artifact manifest with
 * {@code artifactType} {@value #ARTIFACT_TYPE}, the empty config, the bundle as its one layer
 * (media type {@value #ARTIFACT_TYPE} too) and the image manifest as its {@code subject}. Tools
 * that list referrers (oras discover, cosign tree, Ratify) see it beside cosign signatures.
 */
public final class AttachedBundles {
  private AttachedBundles() {}

  public static final String ARTIFACT_TYPE = "application/vnd.dev.custody.bundle.v1+json";

  /** The bundle's checkpoint size, so a reader can pick the newest without fetching them all. */
  public static final String SIZE_ANNOTATION = "dev.custody.checkpoint.size";

  public static final String CREATED_ANNOTATION = "org.opencontainers.image.created";

  /** Attached bundles read for one image at most; each costs two requests. */
  public static final int MAX_BUNDLES = 16;

  /** A bundle holds at most {@link Bundle#MAX_LINKS} links of a few KiB each. */
  public static final int MAX_BUNDLE_BYTES = 8 << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** An attached bundle, or why one attached artifact could not be read as one. */
  public record Found(String artifactDigest, Bundle bundle, String problem) {}

  /** Attaches {@code bundle} to {@code image}; returns the artifact's descriptor. */
  public static Descriptor attach(
      RegistryClient registry, RegistryClient.RemoteImage image, Bundle bundle, long checkpointSize)
      throws IOException {
    Map<String, String> annotations = new LinkedHashMap<>();
    annotations.put(CREATED_ANNOTATION, Instant.now().toString());
    annotations.put(SIZE_ANNOTATION, Long.toString(checkpointSize));
    return registry.attach(
        image.ref(), image.manifest(), ARTIFACT_TYPE, ARTIFACT_TYPE, bundle.toJson(), annotations);
  }

  /**
   * The bundles attached to {@code image}, those with the largest checkpoint first, at most {@link
   * #MAX_BUNDLES}. An artifact that is not a readable bundle is returned with its problem (so a
   * verifier can say why it was not used); a registry's refusal is thrown.
   */
  public static List<Found> find(RegistryClient registry, RegistryClient.RemoteImage image)
      throws IOException {
    List<Descriptor> listed =
        new ArrayList<>(registry.referrers(image.ref(), image.ref().digest(), ARTIFACT_TYPE));
    listed.sort(Comparator.comparingLong(AttachedBundles::size).reversed());
    List<Found> out = new ArrayList<>();
    for (Descriptor d : listed) {
      if (out.size() == MAX_BUNDLES) break;
      out.add(read(registry, image, d));
    }
    return out;
  }

  private static long size(Descriptor d) {
    try {
      return Long.parseLong(d.annotations().getOrDefault(SIZE_ANNOTATION, "0"));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static Found read(RegistryClient registry, RegistryClient.RemoteImage image, Descriptor d)
      throws IOException {
    RegistryClient.Manifest m = registry.manifest(image.ref().withDigest(d.digest()));
    JsonNode n;
    try {
      n = JSON.readTree(m.bytes());
    } catch (IOException e) {
      return new Found(d.digest(), null, "its manifest is not JSON");
    }
    // A referrers listing (and the tag schema's index above all) is only a hint: check that the
    // artifact says it is a bundle and is about this image.
    if (!ARTIFACT_TYPE.equals(n.path("artifactType").asText()))
      return new Found(d.digest(), null, "not a Custody bundle artifact");
    if (!image.ref().digest().equals(n.path("subject").path("digest").asText())) {
      return new Found(d.digest(), null, "its subject is another image");
    }
    JsonNode layer = n.path("layers").path(0);
    String digest = layer.path("digest").asText("");
    if (!digest.matches("sha256:[0-9a-f]{64}") || n.path("layers").size() != 1) {
      return new Found(d.digest(), null, "it does not hold one bundle layer");
    }
    byte[] bytes = registry.blob(image.ref(), digest, MAX_BUNDLE_BYTES);
    try {
      return new Found(d.digest(), Bundle.parse(bytes), null);
    } catch (PolicyException e) {
      return new Found(d.digest(), null, e.getMessage());
    }
  }
}
