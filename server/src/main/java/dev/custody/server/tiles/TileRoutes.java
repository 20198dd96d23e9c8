package dev.custody.server.tiles;

import dev.custody.server.read.LogReader;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.HttpRequest;
import dev.custody.serving.HttpResponse;
import dev.custody.serving.Routes;
import dev.custody.tiles.TilePath;
import dev.custody.tiles.Tiles;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The log, read-only, as C2SP tlog-tiles: {@code /checkpoint}, {@code /tile/<L>/<N>[.p/<W>]} and
 * {@code /tile/entries/<N>[.p/<W>]}. Everything comes from storage and the published head; nothing
 * here touches the sequencer. What exists for the published tree size is served; a tile or bundle
 * wider than that size allows is 404, as is every non-canonical path.
 */
public final class TileRoutes {
  static final String IMMUTABLE = "public, max-age=31536000, immutable";

  /** Partial tiles never change, but a log may drop them once the full tile exists. */
  static final String PARTIAL = "public, max-age=3600";

  static final String CHECKPOINT = "no-cache, max-age=0";

  private final LogReader reader;
  private final Supplier<Cosigning.Served> head;

  private TileRoutes(LogReader reader, Supplier<Cosigning.Served> head) {
    this.reader = reader;
    this.head = head;
  }

  /** The tile routes over {@code reader}, sized by the published {@code head}. */
  public static Routes of(LogReader reader, Supplier<Cosigning.Served> head) {
    TileRoutes t = new TileRoutes(reader, head);
    return Routes.builder().get("/checkpoint", t::checkpoint).getPrefix("/tile/", t::tile).build();
  }

  private HttpResponse checkpoint(HttpRequest request) {
    Cosigning.Served served = head.get();
    return text(200, served.note(), CHECKPOINT)
        .with("Custody-Witness-Cosignatures", Integer.toString(served.cosignatures()))
        .with("Custody-Witness-Quorum", served.quorum() ? "met" : "not met");
  }

  private HttpResponse tile(HttpRequest request) {
    Optional<TilePath> tp = TilePath.parse(request.path().substring(1));
    if (tp.isEmpty()) return text(404, "not found\n", PARTIAL);
    TilePath t = tp.get();
    long size = head.get().checkpoint().size();
    int available = Tiles.width(t.level(), t.index(), size);
    if (t.width() > available)
      return text(404, "no such tile at the current tree size " + size + "\n", CHECKPOINT);
    byte[] body =
        t.entries()
            ? reader.entryBundle(t.index(), t.width())
            : reader.tile(t.level(), t.index(), t.width());
    HttpResponse r =
        new HttpResponse(
            200,
            "application/octet-stream",
            body,
            Map.of("Cache-Control", t.partial() ? PARTIAL : IMMUTABLE));
    // Hashes do not compress; only entry bundles are worth the CPU.
    return t.entries() ? r : r.with("Content-Encoding", "identity");
  }

  private static HttpResponse text(int status, String body, String cache) {
    return new HttpResponse(
        status,
        "text/plain; charset=utf-8",
        body.getBytes(StandardCharsets.UTF_8),
        Map.of("Cache-Control", cache));
  }
}
