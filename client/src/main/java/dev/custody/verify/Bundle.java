package dev.custody.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.note.Base64s;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Everything needed to verify one image's chain with no network: the signed checkpoint, and per
 * link (layer 0 first) its leaf, index and inclusion proof against that checkpoint. JSON:
 *
 * <pre>{@code
 * {"media_type": "application/vnd.custody.bundle.v1+json",
 *  "checkpoint": "<C2SP signed note>",
 *  "links": [{"index": 7, "leaf": "<base64>", "inclusion_proof": ["<base64>", ...]}, ...]}
 * }</pre>
 */
public record Bundle(String checkpointNote, List<Entry> links) {
  public static final String MEDIA_TYPE = "application/vnd.custody.bundle.v1+json";

  /** More than any real image's layers; bounds the work a hostile bundle can cause. */
  public static final int MAX_LINKS = 1000;

  private static final ObjectMapper JSON = new ObjectMapper();

  public record Entry(long index, byte[] leaf, List<byte[]> inclusionProof) {
    public Entry {
      leaf = leaf.clone();
      inclusionProof = List.copyOf(inclusionProof);
    }

    @Override
    public byte[] leaf() {
      return leaf.clone();
    }
  }

  public Bundle {
    links = List.copyOf(links);
  }

  public byte[] toJson() {
    ObjectNode root =
        JSON.createObjectNode().put("media_type", MEDIA_TYPE).put("checkpoint", checkpointNote);
    ArrayNode arr = root.putArray("links");
    for (Entry e : links) {
      ObjectNode o = arr.addObject().put("index", e.index).put("leaf", Base64s.encode(e.leaf));
      ArrayNode p = o.putArray("inclusion_proof");
      e.inclusionProof.forEach(h -> p.add(Base64s.encode(h)));
    }
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Bundle parse(byte[] json) throws PolicyException {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new PolicyException("bundle is not valid JSON: " + e.getMessage());
    }
    if (root == null || !MEDIA_TYPE.equals(root.path("media_type").asText())) {
      throw new PolicyException("not a Custody bundle (media_type must be " + MEDIA_TYPE + ")");
    }
    if (!root.path("checkpoint").isTextual()) throw new PolicyException("bundle has no checkpoint");
    if (root.path("links").size() > MAX_LINKS)
      throw new PolicyException("bundle has more than " + MAX_LINKS + " links");
    List<Entry> links = new ArrayList<>();
    for (JsonNode l : root.path("links")) {
      // canConvertToLong: an index of 2^64 or more would otherwise be quietly cut to its low 64
      // bits.
      if (!l.path("index").isIntegralNumber()
          || !l.path("index").canConvertToLong()
          || l.path("index").asLong(-1) < 0) {
        throw new PolicyException("bundle link has no valid index");
      }
      byte[] leaf = b64(l.path("leaf"), "leaf");
      List<byte[]> proof = new ArrayList<>();
      if (l.path("inclusion_proof").size() > 64)
        throw new PolicyException("bundle inclusion proof is too long");
      for (JsonNode h : l.path("inclusion_proof")) proof.add(b64(h, "inclusion proof hash"));
      links.add(new Entry(l.path("index").asLong(), leaf, proof));
    }
    return new Bundle(root.path("checkpoint").asText(), links);
  }

  private static byte[] b64(JsonNode n, String what) throws PolicyException {
    Optional<byte[]> b = n.isTextual() ? Base64s.decodeStrict(n.asText()) : Optional.empty();
    return b.orElseThrow(() -> new PolicyException("bundle " + what + " is not canonical base64"));
  }
}
