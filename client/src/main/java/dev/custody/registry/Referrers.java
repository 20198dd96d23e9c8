package dev.custody.registry;

import static dev.custody.registry.RegistryClient.MAX_MANIFEST_BYTES;
import static dev.custody.registry.RegistryClient.OCI_EMPTY;
import static dev.custody.registry.RegistryClient.OCI_INDEX;
import static dev.custody.registry.RegistryClient.OCI_MANIFEST;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.chain.Digest;
import dev.custody.http.BoundedHttp;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OCI distribution 1.1 referrers for {@link RegistryClient}: listing an image's referrers (the
 * referrers API, or the referrers tag schema where a registry has no API), and attaching an
 * artifact with the tag-schema index kept by read, merge and write. Every request goes through the
 * client's exchange, under its deadline and bounds.
 */
final class Referrers {
  /** Pages of a referrers listing followed at most; a registry that pages forever ends here. */
  private static final int MAX_PAGES = 16;

  private static final Pattern LINK_NEXT = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final RegistryClient client;
  private final RegistryExchange transport;
  private final RequestDeadline deadline;
  private final int maxReferrers;

  Referrers(
      RegistryClient client,
      RegistryExchange transport,
      RequestDeadline deadline,
      int maxReferrers) {
    this.client = client;
    this.transport = transport;
    this.deadline = deadline;
    this.maxReferrers = maxReferrers;
  }

  /**
   * The artifacts attached to manifest {@code subject} in {@code repo}'s repository whose
   * artifactType is {@code artifactType} (every one when null): from the referrers API, or, where
   * the registry has none (it answers 404), from the referrers tag schema ({@code sha256-<hex>}).
   * An empty list means the registry said there are none; a refusal is thrown, never read as none.
   */
  List<Descriptor> list(ImageReference repo, String subject, String artifactType)
      throws IOException {
    List<Descriptor> out = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    String query =
        artifactType == null
            ? ""
            : "?artifactType=" + URLEncoder.encode(artifactType, StandardCharsets.UTF_8);
    URI next =
        transport.base(repo).resolve("/v2/" + repo.repository() + "/referrers/" + subject + query);
    try {
      for (int page = 0; next != null; page++) {
        if (page == MAX_PAGES)
          throw new RegistryException.BadAnswer(
              "the referrers of " + subject + " go on past " + MAX_PAGES + " pages");
        BoundedHttp.Response r =
            transport.send(
                "GET", next, repo, false, Map.of("Accept", OCI_INDEX), null, MAX_MANIFEST_BYTES);
        addMatching(
            out, seen, RegistryClient.json(r.body(), "the referrers of " + subject), artifactType);
        Optional<String> link = r.header("link");
        URI current = next;
        next = null;
        if (link.isPresent()) {
          Matcher mt = LINK_NEXT.matcher(link.get());
          if (mt.find()) next = current.resolve(mt.group(1));
        }
      }
      return out;
    } catch (RegistryException.NotFound noApi) {
      // OCI distribution 1.1: a registry with the API never answers it with 404; fall back to the
      // tag.
    }
    Optional<RegistryClient.Manifest> index = tagIndex(repo, subject);
    if (index.isPresent())
      addMatching(
          out,
          seen,
          RegistryClient.json(index.get().bytes(), "the referrers tag of " + subject),
          artifactType);
    return out;
  }

  /**
   * Attaches an artifact to manifest {@code subject}: pushes the empty config, the payload as the
   * one layer and an image manifest with {@code artifactType} and {@code subject}, by digest. If
   * the registry does not say it indexed the subject (no {@code OCI-Subject} header), adds the
   * artifact to the referrers tag schema's index without losing another writer's entry (see {@link
   * #addToTagIndex}).
   *
   * @return the artifact manifest's descriptor
   */
  Descriptor attach(
      ImageReference repo,
      RegistryClient.Manifest subject,
      String artifactType,
      String payloadType,
      byte[] payload,
      Map<String, String> annotations)
      throws IOException {
    String emptyDigest = client.pushBlob(repo, RegistryClient.EMPTY_JSON);
    String payloadDigest = client.pushBlob(repo, payload);
    ObjectNode m =
        JSON.createObjectNode()
            .put("schemaVersion", 2)
            .put("mediaType", OCI_MANIFEST)
            .put("artifactType", artifactType);
    m.putObject("config")
        .put("mediaType", OCI_EMPTY)
        .put("digest", emptyDigest)
        .put("size", RegistryClient.EMPTY_JSON.length);
    m.putArray("layers")
        .addObject()
        .put("mediaType", payloadType)
        .put("digest", payloadDigest)
        .put("size", payload.length);
    m.putObject("subject")
        .put("mediaType", subject.mediaType())
        .put("digest", subject.digest())
        .put("size", subject.bytes().length);
    if (!annotations.isEmpty()) {
      ObjectNode a = m.putObject("annotations");
      annotations.forEach(a::put);
    }
    byte[] bytes = JSON.writeValueAsBytes(m);
    String digest = Digest.sha256Of(bytes).toString();
    RegistryClient.Pushed pushed =
        client.pushManifest(repo.withDigest(digest), OCI_MANIFEST, bytes);
    Descriptor d = new Descriptor(OCI_MANIFEST, digest, bytes.length, artifactType, annotations);
    if (!pushed.subjectIndexed()) addToTagIndex(repo, subject.digest(), d);
    return d;
  }

  /** Rounds of read, merge, write and re-read before {@link #addToTagIndex} gives up. */
  private static final int TAG_INDEX_ROUNDS = 8;

  /**
   * Adds {@code d} to the referrers tag schema's index of {@code subject}. The tag is shared by
   * every writer and most registries (distribution 2.8 among them) have no compare-and-set on it,
   * so: read the index, keep every entry in it as it is, add ours, write it (with {@code If-Match}
   * on the ETag, which a registry that has it enforces), wait a moment, and read it again; while
   * our entry is missing — a concurrent writer's read-merge-write replaced ours — merge again.
   * Every writer doing this converges on an index holding all of the entries.
   */
  void addToTagIndex(ImageReference repo, String subject, Descriptor d) throws IOException {
    for (int round = 0; round < TAG_INDEX_ROUNDS; round++) {
      Optional<RegistryClient.Manifest> current = tagIndex(repo, subject);
      ArrayNode entries = JSON.createArrayNode();
      boolean present = false;
      if (current.isPresent()) {
        for (JsonNode e :
            RegistryClient.json(current.get().bytes(), "the referrers tag of " + subject)
                .path("manifests")) {
          if (d.digest().equals(e.path("digest").asText())) present = true;
          entries.add(e);
        }
      }
      if (present && round > 0) return; // written, waited for, and still there
      if (!present) entries.add(d.toJson(JSON.createObjectNode()));
      if (!present || round == 0) {
        ObjectNode index =
            JSON.createObjectNode().put("schemaVersion", 2).put("mediaType", OCI_INDEX);
        index.set("manifests", entries);
        byte[] bytes = JSON.writeValueAsBytes(index);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", OCI_INDEX);
        current.ifPresent(c -> headers.put("If-Match", "\"" + c.digest() + "\""));
        try {
          transport.send(
              "PUT",
              repo.withTag(tagOf(subject)),
              "manifests/" + tagOf(subject),
              true,
              headers,
              bytes,
              64 << 10);
        } catch (RegistryException.Refused e) {
          if (e.status() != 412) throw e; // 412: someone wrote in between; read again
        }
      }
      deadline.sleep(Duration.ofMillis(50 + ThreadLocalRandom.current().nextInt(150)));
    }
    throw new RegistryException.Refused(
        409,
        "could not keep "
            + d.digest()
            + " in the referrers tag "
            + tagOf(subject)
            + " of "
            + repo.repositoryName()
            + ": other writers kept replacing it");
  }

  /** The referrers tag schema's tag for {@code subject}: {@code sha256-<hex>}. */
  static String tagOf(String subject) {
    return subject.replace(':', '-');
  }

  private Optional<RegistryClient.Manifest> tagIndex(ImageReference repo, String subject)
      throws IOException {
    try {
      return Optional.of(client.manifest(repo.withTag(tagOf(subject))));
    } catch (RegistryException.NotFound none) {
      return Optional.empty();
    }
  }

  /**
   * Adds the index's descriptors of {@code artifactType} not yet {@code seen}. Counts every
   * descriptor listed, matching or not, against {@link Builder#maxReferrers}: a listing of half a
   * million is refused after the cap, not sorted through.
   */
  private void addMatching(
      List<Descriptor> out, Set<String> seen, JsonNode index, String artifactType)
      throws RegistryException {
    JsonNode manifests = index.path("manifests");
    if (manifests.size() > maxReferrers || seen.size() + manifests.size() > 2L * maxReferrers) {
      throw new RegistryException.BadAnswer(
          "the registry lists more than " + maxReferrers + " referrers for one image; refused");
    }
    for (JsonNode e : manifests) {
      Descriptor d = Descriptor.of(e);
      // Filtering by artifactType is optional for a registry: filter again here.
      if (artifactType == null || artifactType.equals(d.artifactType())) {
        if (seen.add(d.digest())) out.add(d);
        if (out.size() > maxReferrers)
          throw new RegistryException.BadAnswer(
              "the registry lists more than " + maxReferrers + " referrers for one image; refused");
      }
    }
  }
}
