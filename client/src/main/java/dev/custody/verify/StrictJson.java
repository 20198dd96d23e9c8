package dev.custody.verify;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads hand-written JSON (policies, rules) so that it fails closed: a field of the wrong type, a
 * field nobody reads (most often a misspelling) or a value out of range is an error naming the
 * field, never a default. Jackson's lenient accessors turn {@code "quorum": "two"} into 0 and a
 * string where a list belongs into an empty list: both would quietly widen what is trusted.
 */
public final class StrictJson {
  private StrictJson() {}

  /** Requires an object whose fields are all among {@code allowed}. */
  public static JsonNode object(JsonNode n, String where, Set<String> allowed)
      throws PolicyException {
    if (n == null || !n.isObject()) throw new PolicyException(where + " must be a JSON object");
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        throw new PolicyException(
            where
                + " has an unknown field \""
                + f
                + "\" (known: "
                + String.join(", ", new TreeSet<>(allowed))
                + ")");
      }
    }
    return n;
  }

  /** A present, non-empty string. */
  public static String string(JsonNode parent, String field, String where) throws PolicyException {
    return optionalString(parent, field, where)
        .orElseThrow(() -> new PolicyException(where + "." + field + " is required"));
  }

  public static Optional<String> optionalString(JsonNode parent, String field, String where)
      throws PolicyException {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) return Optional.empty();
    if (!n.isTextual())
      throw new PolicyException(where + "." + field + " must be a string, not " + kind(n));
    if (n.asText().isEmpty()) throw new PolicyException(where + "." + field + " must not be empty");
    return Optional.of(n.asText());
  }

  /** An optional whole number within [min, max]; {@code otherwise} when absent. */
  public static long integer(
      JsonNode parent, String field, String where, long min, long max, long otherwise)
      throws PolicyException {
    JsonNode n = parent.get(field);
    if (n == null || n.isNull()) return otherwise;
    if (!n.isIntegralNumber() || !n.canConvertToLong()) {
      throw new PolicyException(where + "." + field + " must be a whole number, not " + kind(n));
    }
    long v = n.asLong();
    if (v < min || v > max)
      throw new PolicyException(where + "." + field + " must be between " + min + " and " + max);
    return v;
  }

  /** An optional array of non-empty strings; empty when absent. */
  public static List<String> strings(JsonNode parent, String field, String where)
      throws PolicyException {
    JsonNode n = parent.get(field);
    List<String> out = new ArrayList<>();
    if (n == null || n.isNull()) return out;
    if (!n.isArray())
      throw new PolicyException(where + "." + field + " must be a list of strings, not " + kind(n));
    for (int i = 0; i < n.size(); i++) {
      JsonNode e = n.get(i);
      if (!e.isTextual() || e.asText().isEmpty()) {
        throw new PolicyException(
            where + "." + field + "[" + i + "] must be a non-empty string, not " + kind(e));
      }
      out.add(e.asText());
    }
    return out;
  }

  /** An optional array; empty when absent. */
  public static List<JsonNode> array(JsonNode parent, String field, String where)
      throws PolicyException {
    JsonNode n = parent.get(field);
    List<JsonNode> out = new ArrayList<>();
    if (n == null || n.isNull()) return out;
    if (!n.isArray())
      throw new PolicyException(where + "." + field + " must be a list, not " + kind(n));
    n.forEach(out::add);
    return out;
  }

  private static String kind(JsonNode n) {
    return n.isTextual()
        ? "a string"
        : n.isNumber()
            ? "a number"
            : n.isBoolean()
                ? "true/false"
                : n.isArray() ? "a list" : n.isObject() ? "an object" : "null";
  }
}
