package dev.custody.server.explorer;

import dev.custody.chain.Digest;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.read.LogReader;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import dev.custody.server.witness.Cosigning;
import dev.custody.serving.HttpRequest;
import dev.custody.serving.HttpResponse;
import dev.custody.serving.Routes;
import dev.custody.verify.Bundle;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The log explorer: read-only pages over the log and its chain index, routes on the log's HTTP
 * port. Each page is server-rendered HTML from a precompiled, auto-escaping JTE template, or the
 * same view as JSON when asked ({@code Accept: application/json}). Pages never claim a proof holds:
 * they carry the leaf, the proof and the signed checkpoint, and {@code explorer.js} checks them in
 * the browser. Every page is bounded: at most {@link #PAGE} rows, a chain at most {@link
 * #MAX_CHAIN} links, a query at most {@link #MAX_QUERY} characters.
 *
 * <p>Thread-safe: the HTTP server calls its routes from its worker threads at once.
 */
public final class Explorer {
  /** Rows on one page. */
  public static final int PAGE = 50;

  public static final int MAX_CHAIN = 1000;
  public static final int MAX_QUERY = 512;

  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern INDEX = Pattern.compile("[0-9]{1,19}");

  private final LogStorage storage;
  private final LinkIndex linkIndex;
  private final Feeds feeds;
  private final StoredLinks links;
  private final LogReader reader;
  private final Supplier<Cosigning.Served> head;
  private final Supplier<Map<String, Long>> submissions;
  private final Predicate<SocketAddress> budget;
  private final Rendering rendering = new Rendering();
  private final Map<String, byte[]> statics = new LinkedHashMap<>();

  /**
   * @param submissions the {@code custody_submissions_total} counters by outcome (as /metrics has
   *     them), for the status page's chart
   */
  public Explorer(
      LogStorage storage,
      StoredLinks links,
      LogReader reader,
      Supplier<Cosigning.Served> head,
      Supplier<Map<String, Long>> submissions) {
    this(storage, links, reader, head, submissions, client -> true);
  }

  /**
   * @param budget whether a client (by its address) may have one more page now: the server passes
   *     the same per-client budget its gRPC calls have, so pages cost a client what calls do
   */
  public Explorer(
      LogStorage storage,
      StoredLinks links,
      LogReader reader,
      Supplier<Cosigning.Served> head,
      Supplier<Map<String, Long>> submissions,
      Predicate<SocketAddress> budget) {
    this.budget = budget;
    this.submissions = submissions;
    this.storage = storage;
    this.linkIndex = new LinkIndex(storage);
    this.feeds = new Feeds(linkIndex, links);
    this.links = links;
    this.reader = reader;
    this.head = head;
    for (String f : List.of("explorer.js", "explorer.css"))
      statics.put("/explorer/" + f, Rendering.resource(f));
  }

  /**
   * The explorer's routes: its pages, each spending one unit of the client's budget, and its static
   * files, which cost nothing. Every page answers HTML, or JSON when the client asks for it ({@code
   * Accept: application/json}); a page that cannot be had is a problem page with the reason (404,
   * 400, or 429 over budget).
   */
  public Routes routes() {
    Routes pages =
        Routes.builder()
            .get("/", r -> page(r, "status.jte", status()))
            .get("/search", r -> page(r, "search.jte", search(r.param("q").orElse(""), start(r))))
            .get("/checkpoints", this::checkpointsPage)
            .getPrefix("/entries/", this::entryPage)
            .routePrefix(Set.of("GET", "POST"), "/chains/", this::chainPage)
            .getPrefix("/keys/", this::keyPage)
            .getPrefix("/repositories/", this::repositoryPage)
            .wrapEach(this::withProblems)
            .wrapEach(this::budgeted)
            .build();
    Routes.Builder all = Routes.builder();
    for (Map.Entry<String, byte[]> f : statics.entrySet()) {
      byte[] file = f.getValue();
      String type =
          f.getKey().endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
      all.get(
          f.getKey(),
          r ->
              new HttpResponse(
                  200,
                  type,
                  file,
                  Map.of(
                      "Cache-Control",
                      "public, max-age=300",
                      "X-Content-Type-Options",
                      "nosniff")));
    }
    return all.include(pages).build();
  }

  private HttpResponse checkpointsPage(HttpRequest r) {
    return page(
        r,
        "checkpoints.jte",
        checkpoints(
            r.param("before").map(Explorer::index),
            r.param("from").map(Explorer::index),
            r.param("to").map(Explorer::index)));
  }

  private HttpResponse entryPage(HttpRequest r) {
    String rest = r.path().substring("/entries/".length());
    if (rest.endsWith(BUNDLE_SUFFIX))
      return bundle(index(rest.substring(0, rest.length() - BUNDLE_SUFFIX.length())));
    return page(r, "entry.jte", entry(index(rest)));
  }

  private HttpResponse chainPage(HttpRequest r) {
    String rest = r.path().substring("/chains/".length());
    if (r.method().equals("POST")) {
      // The policy overlay: computes and changes nothing, so a form may post it.
      if (!rest.endsWith(POLICY_SUFFIX))
        return HttpResponse.text(405, "only GET here\n").with("Allow", "GET, HEAD");
      String form = "?" + new String(r.body(), StandardCharsets.UTF_8);
      String policy =
          Optional.ofNullable(new QueryStringDecoder(form).parameters().get("policy"))
              .flatMap(v -> v.stream().findFirst())
              .orElse("");
      Digest manifest = digest(rest.substring(0, rest.length() - POLICY_SUFFIX.length()));
      return page(
          r,
          "chain.jte",
          PolicyOverlay.over(
              chain(manifest), policy, i -> links.at(i).orElseThrow().link().statement()));
    }
    return page(r, "chain.jte", chain(digest(rest)));
  }

  private HttpResponse keyPage(HttpRequest r) {
    String k = r.path().substring("/keys/".length());
    boolean feed = k.endsWith(FEED_SUFFIX);
    if (feed) k = k.substring(0, k.length() - FEED_SUFFIX.length());
    if (!HEX64.matcher(k).matches()) throw new NotFound("a key_id is 64 lowercase hex digits");
    byte[] keyId = HexFormat.of().parseHex(k);
    if (feed) return feeds.byKey(r, origin(), keyId, head.get().checkpoint().size());
    return page(r, "links.jte", linksBy("key", k, LinkIndex.keyId(keyId), start(r)));
  }

  /**
   * A repository's page, or with {@code /feed.atom} after the name the feed of every repository
   * whose name begins with it (a name is a prefix of itself).
   */
  private HttpResponse repositoryPage(HttpRequest r) {
    String rest = r.path().substring("/repositories/".length());
    boolean feed = rest.endsWith(FEED_SUFFIX);
    if (feed) rest = rest.substring(0, rest.length() - FEED_SUFFIX.length());
    String name = QueryStringDecoder.decodeComponent(rest);
    if (name.isEmpty() || name.length() > 255) throw new NotFound("no such repository");
    if (feed) return feeds.byRepositoryPrefix(r, origin(), name, head.get().checkpoint().size());
    return page(r, "links.jte", linksBy("repository", name, LinkIndex.repository(name), start(r)));
  }

  private String origin() {
    return head.get().checkpoint().checkpoint().origin();
  }

  private static final String FEED_SUFFIX = "/feed.atom";

  private static final String POLICY_SUFFIX = "/policy";
  private static final String BUNDLE_SUFFIX = "/bundle";

  /** A page's view as HTML from its template, or as JSON when the client asks for JSON. */
  private HttpResponse page(HttpRequest r, String template, Object view) {
    int status = view instanceof Views.Problem p ? p.status() : 200;
    return r.wantsJson() ? Rendering.json(status, view) : rendering.html(status, template, view);
  }

  /** A page that cannot be had answers a problem page with the reason. */
  private Routes.Blocking withProblems(Routes.Blocking page) {
    return r -> {
      try {
        return page.handle(r);
      } catch (NotFound e) {
        return page(r, "problem.jte", new Views.Problem(404, e.getMessage()));
      } catch (BadRequest e) {
        return page(r, "problem.jte", new Views.Problem(400, e.getMessage()));
      }
    };
  }

  /** Each page costs the client one unit of the budget its gRPC calls spend too. */
  private Routes.Blocking budgeted(Routes.Blocking page) {
    return r -> {
      if (r.client() == null || budget.test(r.client())) return page.handle(r);
      return page(
              r,
              "problem.jte",
              new Views.Problem(
                  429, "too many pages from your address: slow down and retry in a moment"))
          .with("Cache-Control", "no-store")
          .with("Retry-After", "1");
    };
  }

  // ---------------------------------------------------------------- pages

  Views.Status status() {
    Cosigning.Served s = head.get();
    SignedCheckpoint cp = s.checkpoint();
    String last =
        cp.size() == 0
            ? null
            : links
                .at(cp.size() - 1)
                .map(l -> Instant.ofEpochMilli(l.parsed().logTimestampMs()).toString())
                .orElse(null);
    List<Views.CheckpointRow> recent = new ArrayList<>();
    for (String note : storage.checkpointsBefore(Long.MAX_VALUE, 10))
      recent.add(checkpointRow(note));
    return new Views.Status(
        cp.checkpoint().origin(),
        storage.verifierKey().orElse(""),
        cp.size(),
        HexFormat.of().formatHex(cp.checkpoint().rootHash()),
        s.note(),
        s.cosignatures(),
        s.quorum(),
        last,
        recent,
        growth(),
        outcomes());
  }

  /**
   * The tree's growth: the size of each of the last {@link #GROWTH_POINTS} stored checkpoints
   * against the log time of its last entry.
   */
  private Views.Chart growth() {
    List<String> notes = storage.checkpointsBefore(Long.MAX_VALUE, GROWTH_POINTS);
    List<long[]> points = new ArrayList<>(); // {time ms, size}
    for (int i = notes.size() - 1; i >= 0; i--) {
      long size = stored(notes.get(i)).size();
      if (size <= 0) continue;
      links.at(size - 1).ifPresent(l -> points.add(new long[] {l.parsed().logTimestampMs(), size}));
    }
    return Charts.line("Tree size over time", "entries", points);
  }

  static final int GROWTH_POINTS = 200;

  /** Submissions since the server started, by outcome (the /metrics counters). */
  private Views.Chart outcomes() {
    return Charts.bars("Submissions since start, by outcome", "submissions", submissions.get());
  }

  Views.Search search(String q, long start) {
    String query = q.strip();
    if (query.length() > MAX_QUERY)
      throw new BadRequest("a query is at most " + MAX_QUERY + " characters");
    String note =
        "Search is a convenience: it finds what the log's index holds. That nothing is found is not "
            + "proof that nothing exists; completeness comes from monitoring the log (custody monitor).";
    long size = head.get().checkpoint().size();
    if (query.isEmpty())
      return new Views.Search(query, "nothing", List.of(), List.of(), null, note);
    if (INDEX.matcher(query).matches()) {
      long i = Long.parseLong(query);
      List<Views.LinkRow> rows =
          i < size ? links.at(i).map(l -> List.of(row(l))).orElse(List.of()) : List.of();
      return new Views.Search(query, "a log index", rows, List.of(), null, note);
    }
    if (query.startsWith("sha256:")) {
      // A manifest digest or a layer digest: both lookups, merged in log order.
      Digest d = digest(query);
      TreeSet<Long> found = new TreeSet<>(linkIndex.find(LinkIndex.manifest(d), start, PAGE + 1));
      found.addAll(linkIndex.find(LinkIndex.layer(d), start, PAGE + 1));
      List<Long> visible = found.stream().filter(i -> i < size).toList();
      return new Views.Search(
          query,
          "a manifest or layer digest",
          rows(visible.subList(0, Math.min(PAGE, visible.size()))),
          List.of(),
          visible.size() > PAGE ? visible.get(PAGE) : null,
          note);
    }
    if (HEX64.matcher(query).matches()) {
      byte[] v = HexFormat.of().parseHex(query);
      TreeSet<Long> found = new TreeSet<>();
      links.byId(v).ifPresent(l -> found.add(l.index()));
      storage.indexOfLeafHash(v).ifPresent(found::add);
      List<Long> byKey = linkIndex.find(LinkIndex.keyId(v), start, PAGE + 1);
      found.addAll(byKey.subList(0, Math.min(PAGE, byKey.size())));
      List<Views.LinkRow> rows = rows(found.stream().filter(i -> i < size).toList());
      return new Views.Search(
          query,
          "a link_id, a leaf hash or a key_id",
          rows,
          List.of(),
          byKey.size() > PAGE ? byKey.get(PAGE) : null,
          note);
    }
    if (query.endsWith("*")) {
      String prefix = query.substring(0, query.length() - 1);
      if (prefix.isEmpty()) throw new BadRequest("give at least one character before the *");
      return new Views.Search(
          query,
          "a repository prefix",
          List.of(),
          linkIndex.repositoriesWithPrefix(prefix, size, PAGE),
          null,
          note);
    }
    return page(query, "a repository", LinkIndex.repository(query), start, note);
  }

  Views.Entry entry(long index) {
    SignedCheckpoint cp = head.get().checkpoint();
    if (index >= cp.size())
      throw new NotFound("the log has " + cp.size() + " entries; there is no entry " + index);
    StoredLinks.Stored s =
        links.at(index).orElseThrow(() -> new NotFound("entry " + index + " is not a layer link"));
    Statement st = s.link().statement();
    Long prevIndex = null;
    String prev = null;
    if (st.hasPredecessor()) {
      prev = HexFormat.of().formatHex(st.prevLinkId());
      prevIndex = links.byId(st.prevLinkId()).map(StoredLinks.Stored::index).orElse(null);
    }
    List<Long> above = linkIndex.find(LinkIndex.successorsOf(s.link().linkId()), 0, PAGE);
    return new Views.Entry(
        row(s),
        st.diffId().toString(),
        st.chainId().toString(),
        prev,
        prevIndex,
        rows(above.stream().filter(i -> i < cp.size()).toList()),
        s.link().signatureScheme() == LinkKeys.Scheme.ED25519.code() ? "Ed25519" : "ECDSA P-256",
        Base64.getEncoder().encodeToString(s.link().publicKey()),
        HexFormat.of().formatHex(s.leaf()),
        proof(s, cp),
        head.get().note());
  }

  Views.Chain chain(Digest manifest) {
    SignedCheckpoint cp = head.get().checkpoint();
    OptionalLong layer = linkIndex.topLayerOf(manifest);
    if (layer.isEmpty()) throw new NotFound("no link in this log names image " + manifest);
    List<Long> tops =
        linkIndex.find(LinkIndex.manifestAtLayer(manifest, layer.getAsLong()), 0, PAGE + 1).stream()
            .filter(i -> i < cp.size())
            .toList();
    if (tops.isEmpty())
      throw new NotFound(
          "the chain of " + manifest + " is being logged right now; reload in a moment");
    StoredLinks.Stored top =
        links.at(tops.get(0)).orElseThrow(() -> new NotFound("the top link is not a layer link"));
    List<StoredLinks.Stored> chain = links.chainEndingAt(top, MAX_CHAIN);
    List<Views.LinkRow> rows = new ArrayList<>();
    List<Views.Proof> proofs = new ArrayList<>();
    for (StoredLinks.Stored s : chain) {
      rows.add(row(s));
      proofs.add(proof(s, cp));
    }
    List<String> warnings = new ArrayList<>();
    List<Views.LinkRow> others = rows(tops.subList(1, tops.size()));
    if (!others.isEmpty()) {
      warnings.add(
          others.size()
              + (tops.size() > PAGE ? "+" : "")
              + " other link(s) also name this image at its top layer "
              + layer.getAsLong()
              + ": another chain, or a fork. A monitor flags this; check who signed each below.");
    }
    for (int i = 0; i < chain.size(); i++) {
      if (chain.get(i).link().statement().layerIndex() != i) {
        warnings.add(
            "link "
                + chain.get(i).index()
                + " is for layer "
                + chain.get(i).link().statement().layerIndex()
                + " but stands at position "
                + i
                + " of the chain");
      }
    }
    return new Views.Chain(
        manifest.toString(), rows, proofs, head.get().note(), others, warnings, null);
  }

  Views.Links linksBy(String kind, String value, byte[] lookupKey, long start) {
    long size = head.get().checkpoint().size();
    List<Long> found =
        linkIndex.find(lookupKey, start, PAGE + 1).stream().filter(i -> i < size).toList();
    if (found.isEmpty() && start == 0) throw new NotFound("no link in this log for that " + kind);
    List<Views.LinkRow> rows = rows(found.subList(0, Math.min(PAGE, found.size())));
    List<Long> first = linkIndex.find(lookupKey, 0, 1);
    String firstSeen =
        first.isEmpty()
            ? null
            : links.at(first.get(0)).map(l -> time(l.parsed().logTimestampMs())).orElse(null);
    String lastSeen = rows.isEmpty() ? null : rows.get(rows.size() - 1).loggedAt();
    List<Long> layers = rows.stream().map(Views.LinkRow::layer).distinct().sorted().toList();
    return new Views.Links(
        kind,
        value,
        rows,
        found.size() > PAGE ? found.get(PAGE) : null,
        firstSeen,
        lastSeen,
        layers,
        (kind.equals("key") ? "/keys/" : "/repositories/") + Feeds.path(value) + FEED_SUFFIX);
  }

  Views.Checkpoints checkpoints(Optional<Long> before, Optional<Long> from, Optional<Long> to) {
    long size = head.get().checkpoint().size();
    List<Views.CheckpointRow> rows = new ArrayList<>();
    List<String> notes = storage.checkpointsBefore(before.orElse(Long.MAX_VALUE), PAGE + 1);
    for (String n : notes.subList(0, Math.min(PAGE, notes.size()))) {
      rows.add(checkpointRow(n));
    }
    Views.Consistency c = null;
    if (from.isPresent() && to.isPresent()) {
      long f = from.get();
      long t = to.get();
      if (f < 1 || f > t || t > size)
        throw new BadRequest("a consistency proof needs 1 <= from <= to <= " + size);
      c =
          new Views.Consistency(
              f,
              t,
              reader.mayWait().consistency(f, t).stream().map(HexFormat.of()::formatHex).toList());
    }
    return new Views.Checkpoints(
        rows, notes.size() > PAGE ? stored(notes.get(PAGE)).size() + 1 : null, c);
  }

  /**
   * The offline bundle of the chain whose top is entry {@code index}, as {@code custody verify
   * --bundle} reads it.
   */
  private HttpResponse bundle(long index) {
    Cosigning.Served served = head.get();
    SignedCheckpoint cp = served.checkpoint();
    if (index >= cp.size()) throw new NotFound("there is no entry " + index);
    StoredLinks.Stored top =
        links.at(index).orElseThrow(() -> new NotFound("entry " + index + " is not a layer link"));
    List<Bundle.Entry> entries = new ArrayList<>();
    for (StoredLinks.Stored s : links.chainEndingAt(top, MAX_CHAIN)) {
      entries.add(
          new Bundle.Entry(s.index(), s.leaf(), reader.mayWait().inclusion(s.index(), cp.size())));
    }
    return new HttpResponse(
        200,
        "application/json",
        new Bundle(served.note(), entries).toJson(),
        Map.of(
            "Cache-Control",
            "no-cache",
            "Content-Disposition",
            "attachment; filename=\"custody-bundle-" + index + ".json\""));
  }

  // ---------------------------------------------------------------- pieces

  private Views.Search page(String query, String as, byte[] key, long start, String note) {
    long size = head.get().checkpoint().size();
    List<Long> found = linkIndex.find(key, start, PAGE + 1).stream().filter(i -> i < size).toList();
    return new Views.Search(
        query,
        as,
        rows(found.subList(0, Math.min(PAGE, found.size()))),
        List.of(),
        found.size() > PAGE ? found.get(PAGE) : null,
        note);
  }

  private List<Views.LinkRow> rows(List<Long> indices) {
    List<Views.LinkRow> out = new ArrayList<>();
    for (long i : indices) links.at(i).ifPresent(l -> out.add(row(l)));
    return out;
  }

  private static Views.LinkRow row(StoredLinks.Stored s) {
    Statement st = s.link().statement();
    return new Views.LinkRow(
        s.index(),
        HexFormat.of().formatHex(s.link().linkId()),
        st.repository(),
        st.manifestDigest().toString(),
        st.layerIndex(),
        st.layerDigest().toString(),
        HexFormat.of().formatHex(s.link().keyId()),
        time(st.signedAtMs()),
        time(s.parsed().logTimestampMs()));
  }

  private Views.Proof proof(StoredLinks.Stored s, SignedCheckpoint cp) {
    Base64.Encoder b64 = Base64.getEncoder();
    List<String> hashes =
        reader.mayWait().inclusion(s.index(), cp.size()).stream().map(b64::encodeToString).toList();
    return new Views.Proof(
        s.index(),
        b64.encodeToString(s.leaf()),
        cp.size(),
        hashes,
        b64.encodeToString(head.get().note().getBytes(StandardCharsets.UTF_8)),
        storage.verifierKey().orElse(""));
  }

  private static String time(long ms) {
    return Instant.ofEpochMilli(ms).toString();
  }

  private static Views.CheckpointRow checkpointRow(String note) {
    Checkpoint c = stored(note);
    return new Views.CheckpointRow(c.size(), HexFormat.of().formatHex(c.rootHash()), note);
  }

  /** A stored checkpoint note, read by the one checkpoint parser; this log wrote it. */
  private static Checkpoint stored(String note) {
    try {
      return Checkpoint.ofNote(note);
    } catch (CheckpointException e) {
      throw new StorageException("a stored checkpoint is unreadable: " + e.getMessage(), e);
    }
  }

  private static long start(HttpRequest r) {
    return r.param("start").map(Explorer::index).orElse(0L);
  }

  private static long index(String s) {
    if (!INDEX.matcher(s).matches()) throw new NotFound("\"" + s + "\" is not a log index");
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw new NotFound("\"" + s + "\" is not a log index");
    }
  }

  private static Digest digest(String s) {
    try {
      return Digest.parse(s);
    } catch (LinkException e) {
      throw new BadRequest("\"" + s + "\" is not a digest: " + e.getMessage());
    }
  }

  /** No such page: 404 with the reason. */
  static final class NotFound extends RuntimeException {
    NotFound(String message) {
      super(message, null, false, false);
    }
  }

  /** A query that cannot be answered as asked: 400 with the reason. */
  static final class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message, null, false, false);
    }
  }
}
