package dev.custody.monitor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * One thing a monitor reports. {@code rule} names what was broken; {@code logFault} marks the log
 * itself misbehaving (an inconsistent or badly signed checkpoint, a malformed leaf), which is
 * louder than any finding about a signer.
 */
public record Finding(
    String rule, boolean logFault, long index, String message, Map<String, String> details) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static final String UNEXPECTED_SIGNER = "unexpected-signer";
  public static final String SECOND_CHAIN = "second-chain-for-manifest";
  public static final String FORK = "fork";
  public static final String KEY_OUTSIDE_WINDOW = "key-outside-validity-window";
  public static final String INCONSISTENT_CHECKPOINT = "log-fault:inconsistent-checkpoint";
  public static final String BAD_CHECKPOINT = "log-fault:bad-checkpoint";
  public static final String MALFORMED_LEAF = "log-fault:malformed-leaf";

  /**
   * The tiles' server (the log's, or a mirror) could not be read; not evidence against the log.
   * Retried.
   */
  public static final String MIRROR_UNAVAILABLE = "mirror-unavailable";

  /**
   * A checkpoint without the policy's witness quorum: not accepted, for it may be a view others are
   * not shown.
   */
  public static final String UNWITNESSED_CHECKPOINT = "unwitnessed-checkpoint";

  public Finding {
    details = Map.copyOf(details);
  }

  /** One line of JSON. */
  public String json() {
    ObjectNode o =
        JSON.createObjectNode()
            .put("rule", rule)
            .put("log_fault", logFault)
            .put("index", index)
            .put("message", message);
    ObjectNode d = o.putObject("details");
    details.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> d.put(e.getKey(), e.getValue()));
    return o.toString();
  }
}
