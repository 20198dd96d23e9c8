package dev.custody.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.verify.PolicyException;
import dev.custody.verify.StrictJson;
import dev.custody.verify.TrustPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * What a monitor watches: a trust policy (the log, and the signers allowed per repository, layer
 * and time, as a verifier uses it) plus the repositories to watch ({@code "watch"}: exact names or
 * prefixes ending in {@code *}; default, every repository pattern the signers name).
 */
public record WatchRules(TrustPolicy policy, List<String> watch) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public WatchRules {
    watch = List.copyOf(watch);
  }

  public static WatchRules read(Path file) throws IOException, PolicyException {
    byte[] b = Files.readAllBytes(file);
    TrustPolicy p = TrustPolicy.parse(b, file.toAbsolutePath().getParent(), Set.of("watch"));
    List<String> watch = new ArrayList<>();
    JsonNode root = JSON.readTree(b);
    if (root.has("watch")) {
      watch.addAll(StrictJson.strings(root, "watch", "rules"));
    } else {
      p.signers().forEach(s -> watch.addAll(s.repositories()));
    }
    return new WatchRules(p, watch);
  }

  public boolean watched(String repository) {
    for (String w : watch) {
      if (w.endsWith("*")
          ? repository.startsWith(w.substring(0, w.length() - 1))
          : repository.equals(w)) return true;
    }
    return false;
  }
}
