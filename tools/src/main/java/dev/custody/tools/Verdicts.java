package dev.custody.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.oci.OciImage;
import dev.custody.verify.ChainVerifier;

/**
 * A verdict as JSON, the one shape {@code custody verify --json} prints and the verification
 * service answers: {@code {"verified", "manifest_digest", "layers": [{"layer", "ok", "reason",
 * "key_id", "repository"}], "checkpoint_size", "log_failures", "reason"}}.
 */
final class Verdicts {
  private Verdicts() {}

  /**
   * @param r the chain's verification, or null when no chain was found
   * @param failure why the image fails beyond {@code r}, or null
   */
  static ObjectNode json(
      ObjectMapper mapper, OciImage img, ChainVerifier.Result r, String failure) {
    ObjectNode o = mapper.createObjectNode();
    o.put("verified", r != null && r.ok() && failure == null)
        .put("manifest_digest", img.manifestDigest().toString());
    ArrayNode layers = o.putArray("layers");
    ArrayNode logFailures = o.putArray("log_failures");
    if (r != null) {
      for (ChainVerifier.LayerResult l : r.layers()) {
        ObjectNode x = layers.addObject().put("layer", l.layer()).put("ok", l.ok());
        l.failure().ifPresent(f -> x.put("reason", f));
        l.keyId().ifPresent(k -> x.put("key_id", k));
        l.repository().ifPresent(rep -> x.put("repository", rep));
      }
      r.logFailures().forEach(logFailures::add);
      r.checkpoint().ifPresent(cp -> o.put("checkpoint_size", cp.size()));
    }
    if (failure != null) o.put("reason", failure);
    return o;
  }
}
