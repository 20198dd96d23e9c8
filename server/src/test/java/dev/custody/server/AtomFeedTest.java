package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.rometools.rome.feed.synd.SyndEntry;
import com.rometools.rome.feed.synd.SyndFeed;
import com.rometools.rome.io.SyndFeedInput;
import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.api.v1.SubmitBatchResponse;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.LinkKeys;
import dev.custody.merkle.Hashes;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.StringReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xml.sax.InputSource;

/**
 * The explorer's Atom feeds, read by a real feed parser (Rome) and a strict XML parser: per key and
 * per repository prefix, newest first, at most 100 entries, hostile repository names escaped, an
 * ETag that a client can send back for a 304, and a prefix too broad refused.
 */
class AtomFeedTest {
  @TempDir static Path dir;
  static CustodyServer server;
  static ManagedChannel channel;
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final LinkKeys.Signer TEAM = LinkKeys.generate(LinkKeys.Scheme.ED25519);
  static final LinkKeys.Signer OTHER = LinkKeys.generate(LinkKeys.Scheme.ED25519);

  /** Escaping and XML 1.0's forbidden characters in one name a signer may choose. */
  static final String HOSTILE = "evil.example/a<b>&c\"d']]>\uFFFE\u0085x";

  @BeforeAll
  static void start() throws Exception {
    server =
        CustodyServer.start(
            ServerConfig.builder(dir.resolve("data")).origin("feed.test/log").anyPorts().build(),
            (n, t) -> {});
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    List<ByteString> links = new ArrayList<>();
    // 130 links of the team's repositories (more than a feed holds), 3 by another key, 1 hostile.
    for (int i = 0; i < 130; i++)
      links.add(TestLinks.layerZero("registry.example/team/app" + (i % 3), TEAM, i));
    for (int i = 0; i < 3; i++)
      links.add(TestLinks.layerZero("registry.example/other/tool", OTHER, 1000 + i));
    links.add(TestLinks.layerZero(HOSTILE, OTHER, 2000));
    for (int i = 0; i < 2; i++)
      links.add(TestLinks.layerZero("registry.example/etag/tool", TEAM, 2500 + i));
    for (int from = 0; from < links.size(); from += 50) {
      SubmitBatchResponse r =
          TransparencyLogGrpc.newBlockingStub(channel)
              .submitBatch(
                  SubmitBatchRequest.newBuilder()
                      .addAllEntries(links.subList(from, Math.min(links.size(), from + 50)))
                      .build());
      r.getResultsList().forEach(x -> assertFalse(x.hasRefused(), x.toString()));
    }
  }

  @AfterAll
  static void stop() {
    channel.shutdownNow();
    server.close();
  }

  static HttpResponse<String> get(String path, String ifNoneMatch) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.httpPort() + path));
    if (ifNoneMatch != null) b.header("If-None-Match", ifNoneMatch);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static SyndFeed parse(String xml) throws Exception {
    // Well-formed XML first, by the JDK's strict parser; then Atom, by Rome.
    DocumentBuilderFactory.newInstance()
        .newDocumentBuilder()
        .parse(new InputSource(new StringReader(xml)));
    return new SyndFeedInput().build(new StringReader(xml));
  }

  static long indexOf(SyndEntry e) {
    String href = e.getLink();
    return Long.parseLong(href.substring(href.lastIndexOf('/') + 1));
  }

  @Test
  void aPrefixFeedHoldsTheNewestHundredNewestFirst() throws Exception {
    HttpResponse<String> r = get("/repositories/registry.example/team/feed.atom", null);
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(
        r.headers().firstValue("Content-Type").orElse("").startsWith("application/atom+xml"));
    SyndFeed feed = parse(r.body());
    assertEquals("atom_1.0", feed.getFeedType());
    List<SyndEntry> entries = feed.getEntries();
    assertEquals(100, entries.size());
    // Newest first: the 100 highest of the team's 130 indices (0..129), in descending order.
    for (int k = 0; k < entries.size(); k++) assertEquals(129 - k, indexOf(entries.get(k)));
    SyndEntry top = entries.get(0);
    assertTrue(top.getTitle().contains("registry.example/team/app" + (129 % 3)), top.getTitle());
    String summary = top.getDescription().getValue();
    assertTrue(summary.contains("index 129"), summary);
    assertTrue(summary.contains("layer 0"), summary);
    assertTrue(summary.contains("image sha256:"), summary);
    assertTrue(
        summary.contains(
            "signer key_id " + HexFormat.of().formatHex(Hashes.sha256(TEAM.publicKey()))),
        summary);
    assertTrue(summary.contains("logged at 20"), summary);
    assertTrue(top.getUpdatedDate() != null);
    // Another prefix: another set, and none of the team's.
    SyndFeed other = parse(get("/repositories/registry.example/other/feed.atom", null).body());
    assertEquals(3, other.getEntries().size());
  }

  @Test
  void aKeyFeedHoldsThatKeysLinksOnly() throws Exception {
    String key = HexFormat.of().formatHex(Hashes.sha256(OTHER.publicKey()));
    SyndFeed feed = parse(get("/keys/" + key + "/feed.atom", null).body());
    assertEquals(4, feed.getEntries().size());
    assertEquals(
        List.of(133L, 132L, 131L, 130L),
        feed.getEntries().stream().map(AtomFeedTest::indexOf).toList());
    // A key with no links yet: an empty feed to subscribe to, not an error.
    SyndFeed none = parse(get("/keys/" + "ab".repeat(32) + "/feed.atom", null).body());
    assertEquals(0, none.getEntries().size());
    assertEquals(404, get("/keys/xyz/feed.atom", null).statusCode());
  }

  @Test
  void aHostileRepositoryNameIsEscapedAndTheFeedStaysWellFormed() throws Exception {
    String prefix = URLEncoder.encode("evil.example/", StandardCharsets.UTF_8);
    HttpResponse<String> r = get("/repositories/" + prefix + "/feed.atom", null);
    assertEquals(200, r.statusCode(), r.body());
    SyndFeed feed = parse(r.body());
    assertEquals(1, feed.getEntries().size());
    String title = feed.getEntries().get(0).getTitle();
    // What XML can carry comes through as signed; U+FFFE, which it cannot, is replaced.
    assertTrue(title.contains("evil.example/a<b>&c\"d']]>\uFFFD\u0085x"), title);
    assertFalse(r.body().contains("<b>"), "markup from a name must be escaped");
  }

  @Test
  void anETagTheClientHoldsIsAnswered304AndANewLinkChangesIt() throws Exception {
    String path = "/repositories/registry.example/etag/feed.atom";
    HttpResponse<String> first = get(path, null);
    String etag = first.headers().firstValue("ETag").orElseThrow();
    assertTrue(etag.matches("\"[0-9a-f]{32}\""), etag);
    HttpResponse<String> again = get(path, etag);
    assertEquals(304, again.statusCode());
    assertEquals("", again.body());
    assertEquals(200, get(path, "\"another\"").statusCode());
    TransparencyLogGrpc.newBlockingStub(channel)
        .submitBatch(
            SubmitBatchRequest.newBuilder()
                .addEntries(TestLinks.layerZero("registry.example/etag/tool", TEAM, 3000))
                .build());
    HttpResponse<String> changed = get(path, etag);
    assertEquals(200, changed.statusCode());
    assertEquals(3, parse(changed.body()).getEntries().size());
    assertTrue(!changed.headers().firstValue("ETag").orElseThrow().equals(etag));
  }

  @Test
  void aPrefixOverMoreThanAHundredRepositoriesIsRefused() throws Exception {
    List<ByteString> many = new ArrayList<>();
    for (int i = 0; i < 101; i++)
      many.add(TestLinks.layerZero("wide.example/r" + i, TEAM, 5000 + i));
    TransparencyLogGrpc.newBlockingStub(channel)
        .submitBatch(SubmitBatchRequest.newBuilder().addAllEntries(many).build());
    HttpResponse<String> r = get("/repositories/wide.example/feed.atom", null);
    assertEquals(400, r.statusCode());
    assertTrue(r.body().contains("lengthen it"), r.body());
    assertEquals(200, get("/repositories/wide.example/r1/feed.atom", null).statusCode());
  }

  @Test
  void theRepositoryPageAdvertisesItsFeed() throws Exception {
    String page = get("/repositories/registry.example/team/app0", null).body();
    assertTrue(page.contains("<link rel=\"alternate\" type=\"application/atom+xml\""), page);
    assertTrue(page.contains("href=\"/repositories/registry.example/team/app0/feed.atom\""), page);
  }
}
