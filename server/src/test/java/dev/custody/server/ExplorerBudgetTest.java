package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.server.explorer.Explorer;
import dev.custody.server.guard.ClientBudgets;
import dev.custody.server.read.LogReader;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.HttpRequest;
import dev.custody.serving.HttpResponse;
import dev.custody.serving.Routes;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Explorer pages spend the client's budget as its gRPC calls do: over it, 429 with Retry-After, per
 * address.
 */
class ExplorerBudgetTest {
  @TempDir Path dir;

  @Test
  void pagesOverTheClientsBudgetAre429AndOtherClientsAreServed() throws Exception {
    try (CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(dir.resolve("data"))
                .origin("budget.test/log")
                .grpcPort(0)
                .httpPort(-1)
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> {})) {
      AtomicLong now = new AtomicLong();
      ClientBudgets budgets = new ClientBudgets(1, 3, now::get); // 3 at once, then 1 a second
      Explorer explorer =
          new Explorer(
              server.storage(),
              new StoredLinks(server.storage()),
              new LogReader(server.storage()),
              () ->
                  new Cosigning.Served(
                      server.sequencer().head(), server.sequencer().head().note(), 0, true),
              Map::of,
              budgets::allows);
      Routes routes = explorer.routes();
      InetSocketAddress greedy = new InetSocketAddress("10.0.0.1", 5000);
      for (int i = 0; i < 3; i++) assertEquals(200, get(routes, "/", Map.of(), greedy).status());
      HttpResponse refused =
          get(
              routes,
              "/search",
              Map.of("q", List.of("x")),
              new InetSocketAddress("10.0.0.1", 5001));
      assertEquals(429, refused.status(), "another port of the same address is the same client");
      assertEquals("1", refused.headers().get("Retry-After"));
      assertTrue(new String(refused.body()).contains("too many pages"));
      // Static files cost nothing; another address has its own budget; time refills it.
      assertEquals(200, get(routes, "/explorer/explorer.js", Map.of(), greedy).status());
      assertEquals(200, get(routes, "/", Map.of(), new InetSocketAddress("10.0.0.2", 1)).status());
      now.addAndGet(1_000_000_000L);
      assertEquals(200, get(routes, "/", Map.of(), greedy).status());
    }
  }

  /** A GET through the explorer's route table, as the HTTP server would make it. */
  private static HttpResponse get(
      Routes routes, String path, Map<String, List<String>> query, InetSocketAddress client) {
    return routes
        .answer(new HttpRequest("GET", path, query, "", new byte[0], client), Runnable::run)
        .join();
  }
}
