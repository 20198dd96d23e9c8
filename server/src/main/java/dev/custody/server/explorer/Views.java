package dev.custody.server.explorer;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What each explorer page shows, as values: the templates render them as HTML and the same records
 * are the page's JSON form ({@code Accept: application/json}). Strings are as the log holds them;
 * escaping is the template engine's (HTML) or Jackson's (JSON), never ours.
 */
public final class Views {
  private Views() {}

  /**
   * {@code s} as one URL path part: every byte but unreserved characters and '/' percent-encoded.
   */
  public static String urlPath(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%2F", "/");
  }

  /** {@code s} as a URL query value. */
  public static String urlQuery(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** One logged layer link in a list. Times are ISO-8601 UTC. */
  public record LinkRow(
      long index,
      String linkId,
      String repository,
      String manifestDigest,
      long layer,
      String layerDigest,
      String keyId,
      String signedAt,
      String loggedAt) {}

  /**
   * What the browser needs to check one inclusion proof and the checkpoint's signature itself: the
   * leaf, its index, the proof, and the signed checkpoint note (all base64).
   */
  public record Proof(
      long index,
      String leaf,
      long treeSize,
      List<String> hashes,
      String note,
      String verifierKey) {}

  public record Status(
      String origin,
      String verifierKey,
      long treeSize,
      String rootHash,
      String checkpoint,
      int cosignatures,
      boolean quorum,
      String lastLoggedAt,
      List<CheckpointRow> recent,
      Chart growth,
      Chart submissions) {}

  /**
   * A small chart drawn on the server as SVG (see {@code Charts}): a line ({@code polyline}, SVG
   * coordinates) or bars, in a box of {@code Charts.WIDTH} × {@code Charts.HEIGHT}, with the ticks
   * and titles of both axes. {@code empty()} when there is nothing to draw yet.
   */
  public record Chart(
      String title,
      List<Bar> bars,
      String polyline,
      List<Tick> valueTicks,
      List<Tick> categoryTicks,
      String categoryAxis,
      String valueAxis) {
    static Chart empty(String title) {
      return new Chart(title, List.of(), "", List.of(), List.of(), "", "");
    }

    public boolean isEmpty() {
      return polyline.isEmpty() && bars.isEmpty();
    }

    /** The plot area's corners and the box, for the template's axes. */
    public int left() {
      return Charts.LEFT;
    }

    public int bottom() {
      return Charts.HEIGHT - Charts.BOTTOM;
    }

    public int right() {
      return Charts.WIDTH - Charts.RIGHT;
    }

    public int top() {
      return Charts.TOP;
    }

    public int width() {
      return Charts.WIDTH;
    }

    public int height() {
      return Charts.HEIGHT;
    }
  }

  /** A tick's label at (x, y) in the chart's box, anchored start, middle or end. */
  public record Tick(int x, int y, String anchor, String label) {}

  /** One bar of a chart: its label, value, and position in the chart's box. */
  public record Bar(String label, long value, int x, int y, int width, int height) {}

  public record Entry(
      LinkRow link,
      String diffId,
      String chainId,
      String prevLinkId,
      Long prevIndex,
      List<LinkRow> above,
      String scheme,
      String publicKey,
      String leafHex,
      Proof proof,
      String checkpoint) {}

  /**
   * An image's chain, layer 0 first, each link with its proof against one checkpoint.
   *
   * @param otherTops other links naming the image at its top layer (another chain or a fork)
   * @param warnings what a monitor would flag, in words
   */
  public record Chain(
      String manifestDigest,
      List<LinkRow> links,
      List<Proof> proofs,
      String checkpoint,
      List<LinkRow> otherTops,
      List<String> warnings,
      Overlay overlay) {}

  /**
   * A trust policy laid over a chain: for each layer (in the chain's order) null when it passes,
   * else why not, exactly as {@code custody verify} would say; {@code logFailures} are the
   * checkpoint's (its signature under the policy's log key, the witness quorum). {@code error} is
   * set instead when the pasted text is not a policy.
   */
  public record Overlay(
      String policy,
      List<String> layers,
      List<String> logFailures,
      boolean verified,
      String error) {}

  /**
   * Links by one key (a key_id, a repository, a search), one page. {@code nextStart} is null on the
   * last page; {@code feed} is the path of the page's Atom feed.
   */
  public record Links(
      String kind,
      String value,
      List<LinkRow> rows,
      Long nextStart,
      String firstSeen,
      String lastSeen,
      List<Long> layers,
      String feed) {}

  /**
   * A search: what the query was taken to be, and what it found: links, or for a prefix ending in
   * {@code *} the repository names that begin with it.
   */
  public record Search(
      String query,
      String understoodAs,
      List<LinkRow> rows,
      List<String> repositories,
      Long nextStart,
      String note) {}

  public record CheckpointRow(long size, String rootHash, String note) {}

  public record Consistency(long from, long to, List<String> hashes) {}

  public record Checkpoints(List<CheckpointRow> rows, Long nextBefore, Consistency consistency) {}

  /** A page that is not there, or a query that cannot be answered, in words. */
  public record Problem(int status, String message) {}
}
