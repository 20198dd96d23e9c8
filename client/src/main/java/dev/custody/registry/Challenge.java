package dev.custody.registry;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One {@code WWW-Authenticate} challenge (RFC 9110 section 11.6.1): a scheme and its parameters,
 * e.g. {@code Bearer
 * realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"}.
 * Quoted values may hold commas and escaped quotes.
 *
 * @param scheme lowercased: "basic" or "bearer"
 */
record Challenge(String scheme, Map<String, String> params) {
  /** The first challenge in {@code header}, or empty when there is none that we can read. */
  static Optional<Challenge> parse(String header) {
    if (header == null) return Optional.empty();
    String h = header.strip();
    int sp = h.indexOf(' ');
    String scheme = (sp < 0 ? h : h.substring(0, sp)).toLowerCase(Locale.ROOT);
    if (scheme.isEmpty()) return Optional.empty();
    Map<String, String> params = new LinkedHashMap<>();
    int i = sp < 0 ? h.length() : sp + 1;
    while (i < h.length()) {
      while (i < h.length() && (h.charAt(i) == ' ' || h.charAt(i) == ',')) i++;
      int eq = h.indexOf('=', i);
      if (eq < 0) break;
      String key = h.substring(i, eq).strip().toLowerCase(Locale.ROOT);
      i = eq + 1;
      StringBuilder v = new StringBuilder();
      if (i < h.length() && h.charAt(i) == '"') {
        i++;
        while (i < h.length() && h.charAt(i) != '"') {
          if (h.charAt(i) == '\\' && i + 1 < h.length()) i++;
          v.append(h.charAt(i++));
        }
        i++; // the closing quote
      } else {
        while (i < h.length() && h.charAt(i) != ',') v.append(h.charAt(i++));
      }
      // A key with a space in it is the start of a second challenge: stop at the first one.
      if (key.contains(" ")) break;
      params.put(key, v.toString().strip());
    }
    return Optional.of(new Challenge(scheme, params));
  }
}
