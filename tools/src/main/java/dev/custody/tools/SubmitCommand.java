package dev.custody.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.SignedLink;
import dev.custody.logclient.LogClient;
import dev.custody.logclient.LogException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "submit",
    mixinStandardHelpOptions = true,
    description = {
      "Send signed links to the log, in order. Prints each link's index and the checkpoint "
          + "size that includes it. Submitting a link again is harmless: the log answers with the "
          + "original entry."
    })
final class SubmitCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Mixin LogOptions conn;

  @Option(names = "--json", description = "One JSON object per link instead of text")
  boolean json;

  @Parameters(arity = "1..*", description = "Links files (custody sign --out)")
  List<Path> files;

  @Override
  public Integer call() throws Exception {
    List<SignedLink> links = new ArrayList<>();
    for (Path f : files) links.addAll(LinksFile.read(f));
    List<LogClient.Outcome> outcomes;
    try (LogClient c = conn.client()) {
      // The whole chain in one call: each link may stand on one before it in the list.
      outcomes = c.submitAll(links.stream().map(SignedLink::encoded).toList());
    }
    LogException.Refused firstRefusal = null;
    for (int i = 0; i < links.size(); i++) {
      SignedLink l = links.get(i);
      String id = HexFormat.of().formatHex(l.linkId());
      LogClient.Outcome o = outcomes.get(i);
      if (o.refused().isPresent()) {
        if (firstRefusal == null) firstRefusal = o.refused().get();
        System.err.printf(
            "layer %d link %s refused: %s%n",
            l.statement().layerIndex(), id.substring(0, 16), o.refused().get().getMessage());
        continue;
      }
      LogClient.Submitted e = o.submitted().get();
      if (json) {
        System.out.println(
            JSON.writeValueAsString(
                JSON.createObjectNode()
                    .put("link_id", id)
                    .put("layer", l.statement().layerIndex())
                    .put("index", e.index())
                    .put("tree_size", e.treeSize())
                    .put("duplicate", e.duplicate())));
      } else {
        System.out.printf(
            "layer %d link %s logged at index %d (checkpoint size %d)%s%n",
            l.statement().layerIndex(),
            id.substring(0, 16),
            e.index(),
            e.treeSize(),
            e.duplicate() ? ", already logged" : "");
      }
    }
    if (firstRefusal != null) throw firstRefusal;
    return 0;
  }
}
