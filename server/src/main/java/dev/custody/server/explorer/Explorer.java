package dev.custody.server.explorer;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkException;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.read.LogReader;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.witness.Cosigning;
import gg.jte.ContentType;
import gg.jte.TemplateEngine;
import gg.jte.output.Utf8ByteOutput;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The log explorer: read-only pages over the log and its chain index, served on the tiles port.
 * Each page is server-rendered HTML from a precompiled, auto-escaping JTE template, or the same
 * view as JSON when asked ({@code Accept: application/json}). Pages never claim a proof holds: they
 * carry the leaf, the proof and the signed checkpoint, and {@code explorer.js} checks them in the
 * browser. Every page is bounded: at most {@link #PAGE} rows, a chain at most {@link #MAX_CHAIN}
 * links, a query at most {@link #MAX_QUERY} characters.
 *
 * <p>Thread-safe: the tile server calls it from its reader threads at once.
 */
public final class Explorer {
  /** Rows on one page. */
  public static final int PAGE = 50;

  public static final int MAX_CHAIN = 1000;
  public static final int MAX_QUERY = 512;

  /**
   * Scripts only from this origin's own files, no inline script or style, no frames, no plugins,
   * forms only to this origin: a repository name holding markup can do nothing even if a template
   * ever failed to escape it.
   */
  public static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern INDEX = Pattern.compile("[0-9]{1,19}");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final LogStorage storage;
  private final LinkIndex linkIndex;
  private final StoredLinks links;
  private final LogReader reader;
  private final Supplier<Cosigning.Served> head;
  private final Supplier<Map<String, Long>> submissions;
  private final java.util.function.Predicate<java.net.SocketAddress> budget;
  private final TemplateEngine templates = TemplateEngine.createPrecompiled(ContentType.Html);
  private final Map<String, byte[]> statics = new LinkedHashMap<>();

  /** An answer: the tile server turns it into HTTP. */
  public record Response(
      int status,
      String contentType,
      byte[] body,
      String cacheControl,
      Map<String, String> headers) {}

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
      java.util.function.Predicate<java.net.SocketAddress> budget) {
    this.budget = budget;
    this.submissions = submissions;
    this.storage = storage;
    this.linkIndex = new LinkIndex(storage);
    this.links = links;
    this.reader = reader;
    this.head = head;
    for (String f : List.of("explorer.js", "explorer.css"))
      statics.put("/explorer/" + f, resource(f));
  }

  /**
   * The answer for {@code path} ({@code query} decoded), or empty when the path is not the
   * explorer's (the tile server's own paths).
   */
  public Optional<Response> handle(String path, Map<String, List<String>> query, boolean json) {
    return handle("GET", path, query, new byte[0], json, null);
  }

  /**
   * Whether {@code POST path} is one of ours: the policy overlay, which computes and changes
   * nothing.
   */
  public static boolean acceptsPost(String path) {
    return path.startsWith("/chains/") && path.endsWith(POLICY_SUFFIX);
  }

  private static final String POLICY_SUFFIX = "/policy";

  /**
   * {@code method} is GET (HEAD is the tile server's) or, for {@link #acceptsPost} paths, POST with
   * a form body ({@code policy=<JSON>}).
   */
  public Optional<Response> handle(
      String method,
      String path,
      Map<String, List<String>> query,
      byte[] body,
      boolean json,
      java.net.SocketAddress client) {
    byte[] file = statics.get(path);
    if (file != null) {
      return Optional.of(
          new Response(
              200,
              path.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8",
              file,
              "public, max-age=300",
              Map.of("X-Content-Type-Options", "nosniff")));
    }
    Object view;
    String template;
    if (client != null && isPage(path) && !budget.test(client)) {
      view =
          new Views.Problem(
              429, "too many pages from your address: slow down and retry in a moment");
      Response r = json ? json(429, view) : html(429, "problem.jte", view);
      java.util.Map<String, String> headers = new java.util.HashMap<>(r.headers());
      headers.put("Retry-After", "1");
      return Optional.of(new Response(429, r.contentType(), r.body(), "no-store", headers));
    }
    try {
      if (path.equals("/")) {
        view = status();
        template = "status.jte";
      } else if (path.equals("/search")) {
        view = search(param(query, "q").orElse(""), start(query));
        template = "search.jte";
      } else if (path.startsWith("/entries/") && path.endsWith("/bundle")) {
        return Optional.of(
            bundle(
                index(path.substring("/entries/".length(), path.length() - "/bundle".length()))));
      } else if (path.startsWith("/entries/")) {
        view = entry(index(path.substring("/entries/".length())));
        template = "entry.jte";
      } else if (method.equals("POST") && acceptsPost(path)) {
        String policy =
            param(
                    new io.netty.handler.codec.http.QueryStringDecoder(
                            "?" + new String(body, StandardCharsets.UTF_8))
                        .parameters(),
                    "policy")
                .orElse("");
        view =
            withPolicy(
                chain(
                    digest(
                        path.substring(
                            "/chains/".length(), path.length() - POLICY_SUFFIX.length()))),
                policy);
        template = "chain.jte";
      } else if (path.startsWith("/chains/")) {
        view = chain(digest(path.substring("/chains/".length())));
        template = "chain.jte";
      } else if (path.startsWith("/keys/")) {
        String k = path.substring("/keys/".length());
        if (!HEX64.matcher(k).matches()) throw new NotFound("a key_id is 64 lowercase hex digits");
        view = linksBy("key", k, LinkIndex.keyId(HexFormat.of().parseHex(k)), start(query));
        template = "links.jte";
      } else if (path.startsWith("/repositories/")) {
        String name =
            io.netty.handler.codec.http.QueryStringDecoder.decodeComponent(
                path.substring("/repositories/".length()));
        if (name.isEmpty() || name.length() > 255) throw new NotFound("no such repository");
        view = linksBy("repository", name, LinkIndex.repository(name), start(query));
        template = "links.jte";
      } else if (path.equals("/checkpoints")) {
        view =
            checkpoints(
                param(query, "before").map(Explorer::index),
                param(query, "from").map(Explorer::index),
                param(query, "to").map(Explorer::index));
        template = "checkpoints.jte";
      } else {
        return Optional.empty();
      }
    } catch (NotFound e) {
      view = new Views.Problem(404, e.getMessage());
      template = "problem.jte";
    } catch (BadRequest e) {
      view = new Views.Problem(400, e.getMessage());
      template = "problem.jte";
    }
    int status = view instanceof Views.Problem p ? p.status() : 200;
    return Optional.of(json ? json(status, view) : html(status, template, view));
  }

  /** The explorer's own paths (not its static files): what a client's budget is spent on. */
  private static boolean isPage(String path) {
    return path.equals("/")
        || path.equals("/search")
        || path.equals("/checkpoints")
        || path.startsWith("/entries/")
        || path.startsWith("/chains/")
        || path.startsWith("/keys/")
        || path.startsWith("/repositories/");
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
    List<Long> sizes = new ArrayList<>();
    for (String note : storage.checkpointsBefore(Long.MAX_VALUE, 30)) sizes.add(sizeOf(note));
    return new Views.Status(
        cp.checkpoint().origin(),
        storage.verifierKey().orElse(""),
        cp.size(),
        HexFormat.of().formatHex(cp.checkpoint().rootHash()),
        s.note(),
        s.cosignatures(),
        s.quorum(),
        last,
        sizes,
        growth(),
        outcomes());
  }

  static final int CHART_W = 600;
  static final int CHART_H = 160;

  /**
   * The tree's growth: the size of each of the last {@link #GROWTH_POINTS} stored checkpoints
   * against the log time of its last entry, as an SVG polyline.
   */
  private Views.Chart growth() {
    List<String> notes = storage.checkpointsBefore(Long.MAX_VALUE, GROWTH_POINTS);
    List<long[]> points = new ArrayList<>(); // {time ms, size}
    for (int i = notes.size() - 1; i >= 0; i--) {
      long size = sizeOf(notes.get(i));
      if (size <= 0) continue;
      links.at(size - 1).ifPresent(l -> points.add(new long[] {l.parsed().logTimestampMs(), size}));
    }
    if (points.size() < 2) return new Views.Chart("Tree size over time", List.of(), "", "", "", "");
    long t0 = points.get(0)[0];
    long t1 = Math.max(t0 + 1, points.get(points.size() - 1)[0]);
    long max = Math.max(1, points.get(points.size() - 1)[1]);
    StringBuilder line = new StringBuilder();
    for (long[] p : points) {
      long x = (p[0] - t0) * (CHART_W - 10) / (t1 - t0) + 5;
      long y = CHART_H - 5 - p[1] * (CHART_H - 10) / max;
      line.append(x).append(',').append(y).append(' ');
    }
    return new Views.Chart(
        "Tree size over time",
        List.of(),
        line.toString().strip(),
        time(t0),
        time(t1),
        Long.toString(max));
  }

  static final int GROWTH_POINTS = 200;

  /** Submissions since the server started, by outcome, as SVG bars (the /metrics counters). */
  private Views.Chart outcomes() {
    Map<String, Long> values = submissions.get();
    long max = Math.max(1, values.values().stream().mapToLong(Long::longValue).max().orElse(1));
    List<Views.Bar> bars = new ArrayList<>();
    int n = Math.max(1, values.size());
    int w = Math.min(120, (CHART_W - 10) / n - 10);
    int i = 0;
    for (Map.Entry<String, Long> e : values.entrySet()) {
      String label = e.getKey();
      int h = (int) (e.getValue() * (CHART_H - 30) / max);
      bars.add(new Views.Bar(label, e.getValue(), 5 + i * (w + 10), CHART_H - 15 - h, w, h));
      i++;
    }
    return new Views.Chart(
        "Submissions since start, by outcome", bars, "", "", "", Long.toString(max));
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
        s.link().signatureScheme() == dev.custody.chain.LinkKeys.Scheme.ED25519.code()
            ? "Ed25519"
            : "ECDSA P-256",
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

  /**
   * {@code c} with {@code policyJson} laid over it: the chain checked by the same {@link
   * dev.custody.verify.ChainVerifier} as {@code custody verify}, against an image made of the
   * chain's own digests (the explorer has no image to compare: only the policy, the chain rules,
   * the signatures and the proofs are judged), its proofs against the served checkpoint.
   */
  Views.Chain withPolicy(Views.Chain c, String policyJson) {
    if (policyJson.length() > MAX_POLICY)
      throw new BadRequest("a policy here is at most " + MAX_POLICY + " characters");
    Views.Overlay overlay;
    try {
      dev.custody.verify.TrustPolicy policy =
          dev.custody.verify.TrustPolicy.parse(policyJson.getBytes(StandardCharsets.UTF_8), null);
      List<dev.custody.verify.Bundle.Entry> entries = new ArrayList<>();
      List<Digest> layerDigests = new ArrayList<>();
      List<Digest> diffIds = new ArrayList<>();
      Digest manifest = null;
      for (int i = 0; i < c.links().size(); i++) {
        Views.Proof p = c.proofs().get(i);
        byte[] leaf = Base64.getDecoder().decode(p.leaf());
        entries.add(
            new dev.custody.verify.Bundle.Entry(
                p.index(), leaf, p.hashes().stream().map(Base64.getDecoder()::decode).toList()));
        Statement st = links.at(p.index()).orElseThrow().link().statement();
        layerDigests.add(st.layerDigest());
        diffIds.add(st.diffId());
        manifest = st.manifestDigest();
      }
      dev.custody.verify.ChainVerifier.Result r =
          new dev.custody.verify.ChainVerifier(policy)
              .verify(
                  new dev.custody.oci.OciImage(manifest, layerDigests, diffIds),
                  new dev.custody.verify.Bundle(c.checkpoint(), entries),
                  null,
                  null);
      overlay =
          new Views.Overlay(
              policyJson,
              r.layers().stream().map(l -> l.failure().orElse(null)).toList(),
              r.logFailures(),
              r.ok(),
              null);
    } catch (dev.custody.verify.PolicyException e) {
      overlay =
          new Views.Overlay(
              policyJson, List.of(), List.of(), false, "not a trust policy: " + e.getMessage());
    }
    return new Views.Chain(
        c.manifestDigest(),
        c.links(),
        c.proofs(),
        c.checkpoint(),
        c.otherTops(),
        c.warnings(),
        overlay);
  }

  /** The most a pasted policy may hold: the tile port reads at most 8 KiB of a request. */
  static final int MAX_POLICY = 8192;

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
        layers);
  }

  Views.Checkpoints checkpoints(Optional<Long> before, Optional<Long> from, Optional<Long> to) {
    long size = head.get().checkpoint().size();
    List<Views.CheckpointRow> rows = new ArrayList<>();
    List<String> notes = storage.checkpointsBefore(before.orElse(Long.MAX_VALUE), PAGE + 1);
    for (String n : notes.subList(0, Math.min(PAGE, notes.size()))) {
      rows.add(new Views.CheckpointRow(sizeOf(n), rootOf(n), n));
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
    return new Views.Checkpoints(rows, notes.size() > PAGE ? sizeOf(notes.get(PAGE)) + 1 : null, c);
  }

  /**
   * The offline bundle of the chain whose top is entry {@code index}, as {@code custody verify
   * --bundle} reads it.
   */
  private Response bundle(long index) {
    Cosigning.Served served = head.get();
    SignedCheckpoint cp = served.checkpoint();
    if (index >= cp.size()) throw new NotFound("there is no entry " + index);
    StoredLinks.Stored top =
        links.at(index).orElseThrow(() -> new NotFound("entry " + index + " is not a layer link"));
    List<dev.custody.verify.Bundle.Entry> entries = new ArrayList<>();
    for (StoredLinks.Stored s : links.chainEndingAt(top, MAX_CHAIN)) {
      entries.add(
          new dev.custody.verify.Bundle.Entry(
              s.index(), s.leaf(), reader.mayWait().inclusion(s.index(), cp.size())));
    }
    return new Response(
        200,
        "application/json",
        new dev.custody.verify.Bundle(served.note(), entries).toJson(),
        "no-cache",
        Map.of(
            "Content-Disposition", "attachment; filename=\"custody-bundle-" + index + ".json\""));
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

  private static long sizeOf(String note) {
    String[] lines = note.split("\n", 4);
    return lines.length > 1 && INDEX.matcher(lines[1]).matches() ? Long.parseLong(lines[1]) : -1;
  }

  private static String rootOf(String note) {
    String[] lines = note.split("\n", 4);
    try {
      return lines.length > 2 ? HexFormat.of().formatHex(Base64.getDecoder().decode(lines[2])) : "";
    } catch (IllegalArgumentException e) {
      return "";
    }
  }

  private static Optional<String> param(Map<String, List<String>> q, String name) {
    List<String> v = q.get(name);
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
  }

  private static long start(Map<String, List<String>> q) {
    return param(q, "start").map(Explorer::index).orElse(0L);
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

  private Response html(int status, String template, Object view) {
    Utf8ByteOutput out = new Utf8ByteOutput();
    templates.render(template, view, out);
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(out.getContentLength());
    try {
      out.writeTo(bytes);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return new Response(
        status,
        "text/html; charset=utf-8",
        bytes.toByteArray(),
        "no-cache",
        Map.of(
            "Content-Security-Policy",
            CSP,
            "X-Content-Type-Options",
            "nosniff",
            "Referrer-Policy",
            "no-referrer"));
  }

  private static Response json(int status, Object view) {
    try {
      return new Response(
          status,
          "application/json",
          JSON.writeValueAsBytes(view),
          "no-cache",
          Map.of("X-Content-Type-Options", "nosniff"));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] resource(String name) {
    try (InputStream in = Explorer.class.getResourceAsStream("/explorer/" + name)) {
      if (in == null)
        throw new IllegalStateException("explorer resource " + name + " is missing from the jar");
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException(e);
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
