package dev.custody.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.io.DurableFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * What a monitor remembers between runs: the last checkpoint it verified (and read every entry of),
 * and what the rules need to see across entries: which link first named each manifest, and which
 * layer each (repository, predecessor) pair first carried. Saved atomically as JSON.
 */
public final class MonitorState {
  private static final ObjectMapper JSON = new ObjectMapper();

  String checkpointNote; // null before the first run
  long nextIndex;
  final Map<String, String> manifestFirstLink = new HashMap<>(); // manifest digest -> link_id hex
  final Map<String, String> successorLayer =
      new HashMap<>(); // repository + " " + prev_link_id hex -> layer digest

  public long nextIndex() {
    return nextIndex;
  }

  /**
   * A fresh state that starts at {@code index}: the entries before it are not read, and the first
   * checkpoint seen is taken as the start of the history checked from then on.
   */
  public static MonitorState startingAt(long index) {
    if (index < 0) throw new IllegalArgumentException("index < 0");
    MonitorState s = new MonitorState();
    s.nextIndex = index;
    return s;
  }

  public static MonitorState load(Path file) throws IOException {
    MonitorState s = new MonitorState();
    if (file == null || !Files.exists(file)) return s;
    JsonNode n;
    try {
      n = JSON.readTree(file.toFile());
    } catch (IOException e) {
      n = null;
    }
    // An empty or damaged state must not silently mean "start over from index 0": say so.
    if (n == null
        || !n.isObject()
        || !n.path("next_index").canConvertToLong()
        || n.path("next_index").asLong() < 0) {
      throw new IOException(
          "the monitor state "
              + file
              + " is empty or damaged; move it away to start over "
              + "from the log's first entry");
    }
    s.checkpointNote = n.path("checkpoint").isTextual() ? n.get("checkpoint").asText() : null;
    s.nextIndex = n.path("next_index").asLong(0);
    n.path("manifests")
        .fields()
        .forEachRemaining(e -> s.manifestFirstLink.put(e.getKey(), e.getValue().asText()));
    n.path("successors")
        .fields()
        .forEachRemaining(e -> s.successorLayer.put(e.getKey(), e.getValue().asText()));
    return s;
  }

  public void save(Path file) throws IOException {
    if (file == null) return;
    ObjectNode o = JSON.createObjectNode();
    if (checkpointNote != null) o.put("checkpoint", checkpointNote);
    o.put("next_index", nextIndex);
    ObjectNode m = o.putObject("manifests");
    manifestFirstLink.forEach(m::put);
    ObjectNode s = o.putObject("successors");
    successorLayer.forEach(s::put);
    DurableFiles.replace(file, JSON.writeValueAsBytes(o), DurableFiles.PUBLIC);
  }
}
