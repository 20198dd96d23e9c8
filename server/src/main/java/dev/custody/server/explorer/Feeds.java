package dev.custody.server.explorer;

import dev.custody.chain.Statement;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.read.StoredLinks;
import dev.custody.serving.HttpRequest;
import dev.custody.serving.HttpResponse;
import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Atom feeds (RFC 4287) of the links signed by a key ({@code /keys/<key_id>/feed.atom}) or logged
 * for the repositories under a name prefix ({@code /repositories/<prefix>/feed.atom}), newest
 * first, at most {@link #MAX_ENTRIES}: what a person subscribes to instead of running a monitor.
 *
 * <p>Bounded work per request, from the lookups, never a scan: a key's feed is one seek and at most
 * {@link #MAX_ENTRIES} steps back; a prefix's feed lists at most {@link #MAX_REPOSITORIES}
 * repository names (one seek each) and takes at most {@link #MAX_ENTRIES} of each, then reads the
 * {@link #MAX_ENTRIES} newest links. A prefix under which more repositories lie is refused with the
 * advice to lengthen it. Every feed carries an {@code ETag} over its bytes, and answers 304 to a
 * client that holds it.
 *
 * <p>Names come from signed statements, which anyone may submit: the XML writer escapes them, and
 * characters XML 1.0 cannot carry become U+FFFD, so that a hostile name cannot break the feed.
 */
final class Feeds {
  static final int MAX_ENTRIES = 100;
  static final int MAX_REPOSITORIES = 100;
  private static final String ATOM = "http://www.w3.org/2005/Atom";
  private static final XMLOutputFactory XML = XMLOutputFactory.newFactory();

  private final LinkIndex index;
  private final StoredLinks links;

  Feeds(LinkIndex index, StoredLinks links) {
    this.index = index;
    this.links = links;
  }

  /** The feed of links signed by this key. requires keyId is 32 bytes */
  HttpResponse byKey(HttpRequest r, String origin, byte[] keyId, long size) {
    String hex = HexFormat.of().formatHex(keyId);
    List<Long> newest = index.newest(LinkIndex.keyId(keyId), size, MAX_ENTRIES);
    return answer(
        r,
        origin,
        "urn:custody:feed:" + enc(origin) + ":key:" + hex,
        "Links signed by key " + hex + " in " + origin,
        "/keys/" + hex,
        newest);
  }

  /**
   * The feed of links whose repository begins with {@code prefix}.
   *
   * @throws Explorer.BadRequest when more than {@link #MAX_REPOSITORIES} repositories lie under it
   */
  HttpResponse byRepositoryPrefix(HttpRequest r, String origin, String prefix, long size) {
    List<String> names = index.repositoriesWithPrefix(prefix, size, MAX_REPOSITORIES + 1);
    if (names.size() > MAX_REPOSITORIES) {
      throw new Explorer.BadRequest(
          "more than "
              + MAX_REPOSITORIES
              + " repositories begin with this prefix: lengthen it (a feed per team or project)");
    }
    TreeSet<Long> all = new TreeSet<>();
    for (String name : names) {
      all.addAll(index.newest(LinkIndex.repository(name), size, MAX_ENTRIES));
      while (all.size() > MAX_ENTRIES) all.pollFirst();
    }
    return answer(
        r,
        origin,
        "urn:custody:feed:" + enc(origin) + ":repositories:" + enc(prefix),
        "Links for repositories under " + prefix + " in " + origin,
        "/repositories/" + path(prefix),
        new ArrayList<>(all.descendingSet()));
  }

  private HttpResponse answer(
      HttpRequest r, String origin, String id, String title, String page, List<Long> newest) {
    List<StoredLinks.Stored> entries = new ArrayList<>();
    for (long i : newest) links.at(i).ifPresent(entries::add);
    byte[] body = atom(origin, id, title, page, entries);
    String etag = "\"" + HexFormat.of().formatHex(sha256(body), 0, 16) + "\"";
    Map<String, String> headers =
        Map.of(
            "ETag",
            etag,
            "Cache-Control",
            "public, max-age=30",
            "X-Content-Type-Options",
            "nosniff");
    if (r.holds(etag)) return new HttpResponse(304, "", new byte[0], headers);
    return new HttpResponse(200, "application/atom+xml; charset=utf-8", body, headers);
  }

  /**
   * The feed document. Links are relative: the explorer does not know the name it is reached by.
   */
  static byte[] atom(
      String origin, String id, String title, String page, List<StoredLinks.Stored> entries) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      XMLStreamWriter w = XML.createXMLStreamWriter(out, "UTF-8");
      w.writeStartDocument("UTF-8", "1.0");
      w.writeStartElement("feed");
      w.writeDefaultNamespace(ATOM);
      element(w, "id", id);
      element(w, "title", title);
      element(
          w,
          "updated",
          entries.isEmpty()
              ? Instant.EPOCH.toString()
              : Instant.ofEpochMilli(entries.get(0).parsed().logTimestampMs()).toString());
      link(w, "alternate", page, "text/html");
      w.writeStartElement("author");
      element(w, "name", origin);
      w.writeEndElement();
      element(w, "generator", "Custody");
      for (StoredLinks.Stored s : entries) {
        Statement st = s.link().statement();
        String key = HexFormat.of().formatHex(s.link().keyId());
        String logged = Instant.ofEpochMilli(s.parsed().logTimestampMs()).toString();
        w.writeStartElement("entry");
        element(w, "id", "urn:custody:link:" + HexFormat.of().formatHex(s.link().linkId()));
        element(
            w,
            "title",
            "Layer "
                + st.layerIndex()
                + " of "
                + st.repository()
                + " signed by "
                + key.substring(0, 16)
                + "…");
        element(w, "updated", logged);
        link(w, "alternate", "/entries/" + s.index(), "text/html");
        element(
            w,
            "summary",
            "index "
                + s.index()
                + "\nrepository "
                + st.repository()
                + "\nlayer "
                + st.layerIndex()
                + "\nimage "
                + st.manifestDigest()
                + "\nsigner key_id "
                + key
                + "\nlogged at "
                + logged);
        w.writeEndElement();
      }
      w.writeEndElement();
      w.writeEndDocument();
      w.close();
    } catch (XMLStreamException e) {
      throw new IllegalStateException("writing a feed: " + e.getMessage(), e);
    }
    return out.toByteArray();
  }

  private static void element(XMLStreamWriter w, String name, String text)
      throws XMLStreamException {
    w.writeStartElement(name);
    w.writeCharacters(xmlSafe(text));
    w.writeEndElement();
  }

  private static void link(XMLStreamWriter w, String rel, String href, String type)
      throws XMLStreamException {
    w.writeEmptyElement("link");
    w.writeAttribute("rel", rel);
    w.writeAttribute("type", type);
    w.writeAttribute("href", xmlSafe(href));
  }

  /** {@code s} with every character XML 1.0 cannot carry (§2.2 Char) replaced by U+FFFD. */
  static String xmlSafe(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints()
        .forEach(
            c -> {
              boolean ok =
                  c == 0x9
                      || c == 0xA
                      || c == 0xD
                      || (c >= 0x20 && c <= 0xD7FF)
                      || (c >= 0xE000 && c <= 0xFFFD)
                      || (c >= 0x10000 && c <= 0x10FFFF);
              b.appendCodePoint(ok ? c : 0xFFFD);
            });
    return b.toString();
  }

  /** {@code s} percent-encoded for a URL path, its slashes kept. */
  static String path(String s) {
    return enc(s).replace("%2F", "/");
  }

  /** {@code s} percent-encoded (UTF-8), a space as %20. */
  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
