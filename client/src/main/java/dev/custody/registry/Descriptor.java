package dev.custody.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An OCI content descriptor as an image index lists it (OCI image spec, descriptor.md): what a
 * referrers listing returns for each artifact attached to an image.
 *
 * @param artifactType the artifact's type, or "" when the descriptor has none
 */
public record Descriptor(
    String mediaType,
    String digest,
    long size,
    String artifactType,
    Map<String, String> annotations) {
  public Descriptor {
    annotations = Map.copyOf(annotations);
  }

  /** Reads one entry of an index's {@code manifests}; fields we do not use are left. */
  static Descriptor of(JsonNode n) throws RegistryException {
    String digest = n.path("digest").asText("");
    if (!digest.matches("sha256:[0-9a-f]{64}")
        || !n.path("size").canConvertToExactIntegral()
        || n.path("size").asLong() < 0) {
      throw new RegistryException.BadAnswer(
          "a descriptor in an index has no valid sha256 digest and size");
    }
    Map<String, String> a = new LinkedHashMap<>();
    n.path("annotations").fields().forEachRemaining(e -> a.put(e.getKey(), e.getValue().asText()));
    return new Descriptor(
        n.path("mediaType").asText(""),
        digest,
        n.path("size").asLong(),
        n.path("artifactType").asText(""),
        a);
  }

  /** This descriptor as JSON, for an index we write (the referrers tag schema's). */
  ObjectNode toJson(ObjectNode into) {
    into.put("mediaType", mediaType).put("digest", digest).put("size", size);
    if (!artifactType.isEmpty()) into.put("artifactType", artifactType);
    if (!annotations.isEmpty()) {
      ObjectNode a = into.putObject("annotations");
      annotations.forEach(a::put);
    }
    return into;
  }
}
