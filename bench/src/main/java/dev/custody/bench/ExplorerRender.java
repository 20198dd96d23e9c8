package dev.custody.bench;

import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.server.admission.LayerLinkAdmission;
import dev.custody.server.explorer.Explorer;
import dev.custody.server.read.LogReader;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.sequencer.Sequenced;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.HttpRequest;
import dev.custody.serving.HttpResponse;
import dev.custody.serving.Routes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The explorer's server-side render time (HTML, JTE) for its busiest pages on a log of real layer
 * links: status, a search by repository, a search by key_id, an entry, a ten-layer chain, and the
 * Atom feeds of a key, a repository and a repository prefix. The links are admitted as the server
 * admits them (signature checked, lookups filed); 500 repositories and 20 signing keys share them,
 * so a repository has ~2,000 links and a key ~50,000.
 */
@Command(
    name = "explorer",
    mixinStandardHelpOptions = true,
    description =
        "Explorer pages rendered server-side (p50/p99) on a log of --entries layer links.")
final class ExplorerRender implements Callable<Integer> {
  @Option(
      names = "--entries",
      defaultValue = "1000000",
      description = "Links in the log. Default: ${DEFAULT-VALUE}")
  long entries;

  @Option(
      names = "--data-dir",
      description =
          "Where the log is built (reused when it is large enough). Default: a temp folder")
  Path dataDir;

  @Option(
      names = "--runs",
      defaultValue = "1000",
      description = "Renders per page measured (after as many warm-up). Default: ${DEFAULT-VALUE}")
  int runs;

  static final int REPOSITORIES = 500;
  static final int KEYS = 20;

  @Override
  public Integer call() throws Exception {
    Path dir = dataDir != null ? dataDir : Files.createTempDirectory("custody-bench-explorer");
    try (BulkLog log = BulkLog.open(dir)) {
      List<LinkKeys.Signer> keys = new ArrayList<>();
      // Deterministic keys would be nicer for reuse; the search below takes whichever key the log's
      // first link has.
      for (int i = 0; i < KEYS; i++) keys.add(LinkKeys.generate(LinkKeys.Scheme.ED25519));
      LayerLinkAdmission admission =
          new LayerLinkAdmission(new StoredLinks(log.storage), LinkVerifier.fastest());
      long t0 = System.nanoTime();
      long start = log.size();
      if (start < entries) {
        Deque<CompletableFuture<Sequenced>> window = new ArrayDeque<>();
        for (long i = start; i < entries - 10; i++) {
          Digest d = Digest.sha256Of(ByteBuffer.allocate(8).putLong(i).array());
          SignedLink l =
              SignedLink.sign(
                  new Statement(
                      "registry.example/team" + (i % REPOSITORIES) + "/app",
                      d,
                      0,
                      d,
                      d,
                      d,
                      Statement.NO_PREDECESSOR,
                      System.currentTimeMillis()),
                  keys.get((int) (i % KEYS)));
          window.add(log.sequencer.add(admission.admit(l.encoded())));
          if (window.size() >= 12_000) window.poll().get();
        }
        for (CompletableFuture<Sequenced> f : window) f.get();
        System.out.printf(
            "explorer: %d links admitted in %.0f s%n",
            entries - 10 - start, (System.nanoTime() - t0) / 1e9);
      }
      // A ten-layer chain on top, each link admitted after the one below is logged.
      List<Digest> diffIds = new ArrayList<>();
      byte[] prev = Statement.NO_PREDECESSOR;
      Digest top = null;
      String tag = Long.toString(System.nanoTime());
      for (int layer = 0; layer < 10; layer++) {
        diffIds.add(
            Digest.sha256Of(("diff " + tag + " " + layer).getBytes(StandardCharsets.UTF_8)));
        top = Digest.sha256Of(("image " + tag + " " + layer).getBytes(StandardCharsets.UTF_8));
        SignedLink l =
            SignedLink.sign(
                new Statement(
                    "registry.example/chain/layer" + layer,
                    top,
                    layer,
                    Digest.sha256Of(("blob " + tag + layer).getBytes(StandardCharsets.UTF_8)),
                    diffIds.get(layer),
                    ChainIds.of(diffIds).get(layer),
                    prev,
                    System.currentTimeMillis()),
                keys.get(layer % KEYS));
        log.sequencer.add(admission.admit(l.encoded())).get();
        prev = l.linkId();
      }
      long size = log.size();
      LogReader reader = new LogReader(log.storage);
      reader.prefetch(size);
      Explorer explorer =
          new Explorer(
              log.storage,
              new StoredLinks(log.storage),
              reader,
              () ->
                  new Cosigning.Served(log.sequencer.head(), log.sequencer.head().note(), 0, true),
              () -> Map.of("result=\"appended\"", size, "result=\"invalid\"", 12L));
      String someKey =
          HexFormat.of().formatHex(new StoredLinks(log.storage).at(0).orElseThrow().link().keyId());
      System.out.printf(
          "explorer: a log of %d links; %d renders per page after as many warm-up, HTML%n",
          size, runs);
      System.out.printf("%-36s %10s %10s %10s%n", "page", "p50 ms", "p99 ms", "bytes");
      page(explorer, "status /", "/", Map.of());
      page(
          explorer,
          "search: a repository (~2,000 links)",
          "/search",
          Map.of("q", List.of("registry.example/team7/app")));
      page(explorer, "search: a key_id (~50,000 links)", "/search", Map.of("q", List.of(someKey)));
      page(
          explorer,
          "search: a repository prefix",
          "/search",
          Map.of("q", List.of("registry.example/team1*")));
      page(explorer, "entry (a link in the middle)", "/entries/" + (size / 2), Map.of());
      page(explorer, "chain of 10 layers", "/chains/" + top, Map.of());
      page(explorer, "feed: a key (~50,000 links)", "/keys/" + someKey + "/feed.atom", Map.of());
      page(
          explorer,
          "feed: a repository (~2,000 links)",
          "/repositories/registry.example/team7/app/feed.atom",
          Map.of());
      page(
          explorer,
          "feed: a prefix of 11 repositories",
          "/repositories/registry.example/team12/feed.atom",
          Map.of());
    }
    return 0;
  }

  private void page(Explorer explorer, String name, String path, Map<String, List<String>> query) {
    int bytes = 0;
    Routes routes = explorer.routes();
    HttpRequest request = new HttpRequest("GET", path, query, "", new byte[0], null);
    for (int i = 0; i < runs; i++)
      bytes = routes.answer(request, Runnable::run).join().body().length;
    Histogram h = new Histogram(3);
    for (int i = 0; i < runs; i++) {
      long t = System.nanoTime();
      HttpResponse r = routes.answer(request, Runnable::run).join();
      h.recordValue((System.nanoTime() - t) / 1000);
      if (r.status() != 200) throw new IllegalStateException(path + " answered " + r.status());
    }
    System.out.printf(
        "%-36s %10.3f %10.3f %10d%n",
        name, h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0, bytes);
  }
}
