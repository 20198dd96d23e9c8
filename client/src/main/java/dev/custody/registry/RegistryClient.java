package dev.custody.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkException;
import dev.custody.http.BoundedHttp;
import dev.custody.http.OutboundPolicy;
import dev.custody.io.BoundedCache;
import dev.custody.oci.OciImage;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small client for the OCI distribution API (v2, with the 1.1 referrers API and its tag-schema
 * fallback): enough to resolve an image, read its manifest and config, read and push small blobs
 * and manifests, list and attach referrers. Layers are never downloaded: their digests are bound by
 * the manifest's, and that is what links sign.
 *
 * <p>Untrusted peer: every body is read into a bounded buffer within one deadline ({@link
 * BoundedHttp}), every manifest and blob is checked against the digest it was asked by, and a
 * redirect never carries our credentials to another host or down from HTTPS to HTTP. Authentication
 * follows the registry's {@code WWW-Authenticate} challenge: Basic with the login from {@link
 * Credentials}, or Bearer with a token from the challenge's realm (tokens are cached per scope
 * until they expire). A 429 or a 5xx is retried with backoff (honouring {@code Retry-After},
 * capped) and then thrown as its own {@link RegistryException}.
 *
 * <p>Why not ORAS Java: it pulls gson, zstd-jni and commons-compress into a library whose
 * verification core we keep to the JDK and Jackson, and it has neither the referrers tag-schema
 * fallback (the only referrers Debian's registry 2.8 can hold) nor a typed refusal per status.
 *
 * <p>Thread-safe: one client may serve many threads (the verification service shares one).
 */
public final class RegistryClient {
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";

  /** The empty descriptor's media type (OCI image spec 1.1, "Guidance for an empty descriptor"). */
  public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";

  /** The empty descriptor's content, {@code {}}, and its digest. */
  static final byte[] EMPTY_JSON = {'{', '}'};

  /** The spec's size limit a registry should accept for a manifest; we read no more. */
  public static final int MAX_MANIFEST_BYTES = 4 << 20;

  private static final String ACCEPT_MANIFESTS =
      String.join(", ", OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST);
  private static final Pattern LINK_NEXT = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");

  /** Pages of a referrers listing followed at most; a registry that pages forever ends here. */
  private static final int MAX_PAGES = 16;

  private static final int MAX_REDIRECTS = 5;

  /** A token service's answer is read no further; the token in it is at most {@link #MAX_TOKEN}. */
  private static final int MAX_TOKEN_RESPONSE_BYTES = 16 << 10;

  /** The longest bearer token used (real ones are a few hundred bytes to a few KiB). */
  static final int MAX_TOKEN = 8 << 10;

  /** Tokens, challenges and logins kept: per registry host and scope, in bytes. */
  private static final int AUTH_CACHE_ENTRIES = 1024;

  private static final long AUTH_CACHE_BYTES = 1 << 20;
  private static final long CHALLENGE_TTL_NANOS = 3_600_000_000_000L;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final Credentials credentials;
  private final Set<String> plainHttp;
  private final Duration deadline;
  private final int retries;
  private final Duration retryBase;
  private final Duration maxRetryAfter;
  private final OutboundPolicy outbound;
  private final int maxReferrers;

  /**
   * The deadline of the caller's whole request on this thread ({@link #within}), in {@code
   * System.nanoTime()}; absent: each exchange has {@code deadline}.
   */
  private final ThreadLocal<Long> until = new ThreadLocal<>();

  /** host -> "Basic ..." once the host asked for Basic. Bounded: hosts come from callers. */
  private final BoundedCache<String, String> basic =
      new BoundedCache<>(AUTH_CACHE_ENTRIES, AUTH_CACHE_BYTES, String::length, System::nanoTime);

  /** host -> its Bearer challenge, so a new scope asks for a token without a 401 first. */
  private final BoundedCache<String, Challenge> bearer =
      new BoundedCache<>(
          AUTH_CACHE_ENTRIES,
          AUTH_CACHE_BYTES,
          c -> c.params().toString().length(),
          System::nanoTime);

  /** host + " " + scope -> token, until it expires. */
  private final BoundedCache<String, Token> tokens =
      new BoundedCache<>(
          AUTH_CACHE_ENTRIES, 4 * AUTH_CACHE_BYTES, t -> t.header().length(), System::nanoTime);

  private record Token(String header, long expiresAtNanos) {}

  /** A manifest as the registry served it; {@code digest} is computed from the bytes. */
  public record Manifest(String mediaType, byte[] bytes, String digest) {
    public boolean isIndex() {
      return mediaType.equals(OCI_INDEX) || mediaType.equals(DOCKER_LIST);
    }
  }

  /**
   * An image found through a reference: {@code ref} is pinned to the manifest's digest (for a
   * multi-platform index, the chosen platform's manifest), {@code image} its parsed digests.
   */
  public record RemoteImage(ImageReference ref, Manifest manifest, OciImage image) {}

  /**
   * What a manifest push returned: its digest and whether the registry said it indexed its subject.
   */
  public record Pushed(String digest, boolean subjectIndexed) {}

  /** Every default in one place. */
  public static final class Builder {
    private Credentials credentials = Credentials.dockerConfig();
    private final java.util.HashSet<String> insecure = new java.util.HashSet<>();
    private Duration deadline = Duration.ofSeconds(30);
    private int retries = 3;
    private Duration retryBase = Duration.ofMillis(200);
    private Duration maxRetryAfter = Duration.ofSeconds(10);
    private OutboundPolicy outbound = OutboundPolicy.ANY;
    private int maxReferrers = 1024;

    /**
     * Which addresses may be fetched, checked on every hop (redirects, token realms, next pages).
     * Default: any ({@link OutboundPolicy#ANY}), for a person's own command; a service that fetches
     * what callers name uses {@link OutboundPolicy#publicOnly}.
     */
    public Builder outbound(OutboundPolicy p) {
      outbound = p;
      return this;
    }

    /** The most referrers one listing may have; past it the listing is refused. Default 1,024. */
    public Builder maxReferrers(int n) {
      if (n < 1) throw new IllegalArgumentException("at least one referrer");
      maxReferrers = n;
      return this;
    }

    /** Where logins come from. Default: the Docker config ({@link Credentials#dockerConfig()}). */
    public Builder credentials(Credentials c) {
      credentials = c;
      return this;
    }

    /**
     * Talk plain HTTP to {@code host} (as in a reference, with its port). Loopback hosts ({@code
     * localhost}, {@code 127.0.0.1}, {@code [::1]}) always are; every other host is HTTPS unless
     * named here.
     */
    public Builder insecure(String host) {
      insecure.add(host);
      return this;
    }

    /** How long one exchange (headers and body) may take. Default 30 s. */
    public Builder deadline(Duration d) {
      deadline = d;
      return this;
    }

    /** How often a 429, a 5xx or a refused connection is retried before it is thrown. Default 3. */
    public Builder retries(int n, Duration base) {
      retries = n;
      retryBase = base;
      return this;
    }

    /**
     * The longest {@code Retry-After} we wait out; a longer one is thrown at once. Default 10 s.
     */
    public Builder maxRetryAfter(Duration d) {
      maxRetryAfter = d;
      return this;
    }

    public RegistryClient build() {
      return new RegistryClient(this);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  private RegistryClient(Builder b) {
    // HTTP/1.1: on plain HTTP the JDK would otherwise offer every new connection an h2c upgrade,
    // which registries do not take and some proxies refuse.
    this.http =
        HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(b.deadline)
            .build();
    this.credentials = b.credentials;
    this.plainHttp = Set.copyOf(b.insecure);
    this.deadline = b.deadline;
    this.retries = b.retries;
    this.retryBase = b.retryBase;
    this.maxRetryAfter = b.maxRetryAfter;
    this.outbound = b.outbound;
    this.maxReferrers = b.maxReferrers;
  }

  /**
   * Runs {@code work} on this thread with one deadline for everything it asks the registry:
   * retries, redirects and token requests included. A request that would outlast it fails with
   * {@link RegistryException.DeadlineExceeded}.
   */
  public <T> T within(Duration budget, java.util.concurrent.Callable<T> work) throws IOException {
    Long outer = until.get();
    long mine = System.nanoTime() + budget.toNanos();
    until.set(outer == null ? mine : Math.min(outer, mine));
    try {
      return work.call();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e.getMessage(), e);
    } finally {
      if (outer == null) until.remove();
      else until.set(outer);
    }
  }

  /** What is left of this thread's deadline, capped at {@code cap}; throws once it is spent. */
  private Duration remaining(Duration cap, String doing) throws RegistryException {
    Long u = until.get();
    if (u == null) return cap;
    long left = u - System.nanoTime();
    if (left <= 0)
      throw new RegistryException.DeadlineExceeded("the request's deadline passed " + doing);
    return Duration.ofNanos(Math.min(left, cap.toNanos()));
  }

  /** The manifest {@code ref} names, checked against its digest when the reference has one. */
  public Manifest manifest(ImageReference ref) throws IOException {
    BoundedHttp.Response r =
        exchange(
            "GET",
            ref,
            "manifests/" + ref.manifestReference(),
            false,
            Map.of("Accept", ACCEPT_MANIFESTS),
            null,
            MAX_MANIFEST_BYTES);
    String digest = Digest.sha256Of(r.body()).toString();
    if (ref.digest() != null && !ref.digest().equals(digest)) {
      throw new RegistryException.BadAnswer(
          ref.apiHost() + " answered " + ref + " with a manifest whose digest is " + digest);
    }
    Optional<String> claimed = r.header("docker-content-digest");
    if (claimed.isPresent()
        && claimed.get().startsWith("sha256:")
        && !claimed.get().equals(digest)) {
      throw new RegistryException.BadAnswer(
          ref.apiHost()
              + " says "
              + ref
              + " is "
              + claimed.get()
              + " but its bytes hash to "
              + digest);
    }
    JsonNode m = json(r.body(), "the manifest of " + ref);
    String type = m.path("mediaType").asText("");
    if (type.isEmpty()) type = r.header("content-type").orElse("").split(";")[0].strip();
    if (m.path("schemaVersion").asInt() != 2) {
      throw new RegistryException.BadAnswer(
          ref
              + " has a schema "
              + m.path("schemaVersion").asText("?")
              + " manifest; only schema 2 (OCI and Docker v2) images can be signed");
    }
    if (type.isEmpty()) type = m.has("manifests") ? OCI_INDEX : OCI_MANIFEST;
    return new Manifest(type, r.body(), digest);
  }

  /**
   * The digest a tag names now, by {@code HEAD} (the registry's {@code Docker-Content-Digest}); a
   * registry that does not send it is asked for the manifest itself. The digest of a reference that
   * has one, without a request. Whatever is then fetched by this digest is checked against it.
   */
  public String digestOf(ImageReference ref) throws IOException {
    if (ref.digest() != null) return ref.digest();
    BoundedHttp.Response r =
        exchange(
            "HEAD",
            ref,
            "manifests/" + ref.tag(),
            false,
            Map.of("Accept", ACCEPT_MANIFESTS),
            null,
            0);
    Optional<String> d = r.header("docker-content-digest");
    if (d.isPresent() && d.get().matches("sha256:[0-9a-f]{64}")) return d.get();
    return manifest(ref).digest();
  }

  /**
   * The image {@code ref} names, with its config read and checked: for an image index, the manifest
   * of {@code platform}.
   */
  public RemoteImage image(ImageReference ref, Platform platform) throws IOException {
    Manifest m = manifest(ref);
    if (m.isIndex()) {
      List<String> offered = new ArrayList<>();
      String chosen = null;
      for (JsonNode d : json(m.bytes(), "the index " + ref).path("manifests")) {
        JsonNode p = d.path("platform");
        String os = p.path("os").asText("");
        String arch = p.path("architecture").asText("");
        String variant = p.path("variant").asText("");
        if (os.isEmpty()) continue; // attestations and other non-images in an index
        offered.add(os + "/" + arch + (variant.isEmpty() ? "" : "/" + variant));
        if (chosen == null && platform.matches(os, arch, variant))
          chosen = d.path("digest").asText("");
      }
      if (chosen == null) {
        throw new RegistryException.NotFound(
            ref
                + " is a multi-platform index with no "
                + platform
                + " image (it has: "
                + (offered.isEmpty() ? "none" : String.join(", ", offered))
                + "); choose one with --platform");
      }
      if (!chosen.matches("sha256:[0-9a-f]{64}"))
        throw new RegistryException.BadAnswer(
            "the index " + ref + " names an image by an invalid digest");
      m = manifest(ref.withDigest(chosen));
      if (m.isIndex())
        throw new RegistryException.BadAnswer(
            "the index " + ref + " points at another index, not an image");
    }
    String configDigest =
        json(m.bytes(), "the manifest of " + ref).path("config").path("digest").asText("");
    if (!configDigest.matches("sha256:[0-9a-f]{64}"))
      throw new RegistryException.BadAnswer(
          "the manifest of " + ref + " has no sha256 config digest");
    byte[] config = blob(ref, configDigest, MAX_MANIFEST_BYTES);
    try {
      return new RemoteImage(ref.withDigest(m.digest()), m, OciImage.parse(m.bytes(), config));
    } catch (LinkException e) {
      throw new RegistryException.BadAnswer(ref + ": " + e.getMessage());
    }
  }

  /**
   * The blob {@code digest} in {@code repo}'s repository, at most {@code maxBytes}, checked against
   * its digest.
   */
  public byte[] blob(ImageReference repo, String digest, int maxBytes) throws IOException {
    BoundedHttp.Response r =
        exchange("GET", repo, "blobs/" + digest, false, Map.of(), null, maxBytes);
    if (!Digest.sha256Of(r.body()).toString().equals(digest)) {
      throw new RegistryException.BadAnswer(
          repo.apiHost() + " answered blob " + digest + " with other bytes");
    }
    return r.body();
  }

  /**
   * Uploads {@code data} to {@code repo}'s repository unless it is there already; returns its
   * digest.
   */
  public String pushBlob(ImageReference repo, byte[] data) throws IOException {
    String digest = Digest.sha256Of(data).toString();
    try {
      exchange("HEAD", repo, "blobs/" + digest, true, Map.of(), null, 0);
      return digest;
    } catch (RegistryException.NotFound absent) {
      // upload below
    }
    BoundedHttp.Response started =
        exchange("POST", repo, "blobs/uploads/", true, Map.of(), new byte[0], 64 << 10);
    String location =
        started
            .header("location")
            .orElseThrow(
                () ->
                    new RegistryException.BadAnswer(
                        repo.apiHost()
                            + " started an upload without saying where (no Location header)"));
    URI at = base(repo).resolve("/v2/").resolve(location);
    if (!at.getAuthority().equals(base(repo).getAuthority())) {
      throw new RegistryException.BadAnswer(
          repo.apiHost()
              + " sent the upload to another host ("
              + at.getAuthority()
              + "); not following it with our credentials");
    }
    URI put =
        URI.create(
            at
                + (at.getRawQuery() == null ? "?" : "&")
                + "digest="
                + URLEncoder.encode(digest, StandardCharsets.UTF_8));
    exchange(
        "PUT", put, repo, true, Map.of("Content-Type", "application/octet-stream"), data, 64 << 10);
    return digest;
  }

  /** Stores a manifest at {@code ref} (its tag, or its digest for an untagged push). */
  public Pushed pushManifest(ImageReference ref, String mediaType, byte[] bytes)
      throws IOException {
    String digest = Digest.sha256Of(bytes).toString();
    if (ref.digest() != null && !ref.digest().equals(digest))
      throw new IllegalArgumentException("manifest bytes do not match " + ref.digest());
    BoundedHttp.Response r =
        exchange(
            "PUT",
            ref,
            "manifests/" + ref.manifestReference(),
            true,
            Map.of("Content-Type", mediaType),
            bytes,
            64 << 10);
    // OCI distribution 1.1: a registry that indexed the manifest's subject says so with this
    // header.
    return new Pushed(digest, r.header("oci-subject").isPresent());
  }

  /**
   * The artifacts attached to manifest {@code subject} in {@code repo}'s repository whose
   * artifactType is {@code artifactType} (every one when null): from the referrers API, or, where
   * the registry has none (it answers 404), from the referrers tag schema ({@code sha256-<hex>}).
   * An empty list means the registry said there are none; a refusal is thrown, never read as none.
   */
  public List<Descriptor> referrers(ImageReference repo, String subject, String artifactType)
      throws IOException {
    List<Descriptor> out = new ArrayList<>();
    Set<String> seen = new java.util.HashSet<>();
    String query =
        artifactType == null
            ? ""
            : "?artifactType=" + URLEncoder.encode(artifactType, StandardCharsets.UTF_8);
    URI next = base(repo).resolve("/v2/" + repo.repository() + "/referrers/" + subject + query);
    try {
      for (int page = 0; next != null; page++) {
        if (page == MAX_PAGES)
          throw new RegistryException.BadAnswer(
              "the referrers of " + subject + " go on past " + MAX_PAGES + " pages");
        BoundedHttp.Response r =
            exchange(
                "GET", next, repo, false, Map.of("Accept", OCI_INDEX), null, MAX_MANIFEST_BYTES);
        addMatching(out, seen, json(r.body(), "the referrers of " + subject), artifactType);
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
    Optional<Manifest> index = tagIndex(repo, subject);
    if (index.isPresent())
      addMatching(
          out, seen, json(index.get().bytes(), "the referrers tag of " + subject), artifactType);
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
  public Descriptor attach(
      ImageReference repo,
      Manifest subject,
      String artifactType,
      String payloadType,
      byte[] payload,
      Map<String, String> annotations)
      throws IOException {
    String emptyDigest = pushBlob(repo, EMPTY_JSON);
    String payloadDigest = pushBlob(repo, payload);
    ObjectNode m =
        JSON.createObjectNode()
            .put("schemaVersion", 2)
            .put("mediaType", OCI_MANIFEST)
            .put("artifactType", artifactType);
    m.putObject("config")
        .put("mediaType", OCI_EMPTY)
        .put("digest", emptyDigest)
        .put("size", EMPTY_JSON.length);
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
    Pushed pushed = pushManifest(repo.withDigest(digest), OCI_MANIFEST, bytes);
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
      Optional<Manifest> current = tagIndex(repo, subject);
      ArrayNode entries = JSON.createArrayNode();
      boolean present = false;
      if (current.isPresent()) {
        for (JsonNode e :
            json(current.get().bytes(), "the referrers tag of " + subject).path("manifests")) {
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
          exchange(
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
      sleep(Duration.ofMillis(50 + ThreadLocalRandom.current().nextInt(150)));
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

  private Optional<Manifest> tagIndex(ImageReference repo, String subject) throws IOException {
    try {
      return Optional.of(manifest(repo.withTag(tagOf(subject))));
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

  // ---------------------------------------------------------------- the exchange

  /**
   * {@code https://host} or, for loopback and {@link Builder#insecure} hosts, {@code http://host}.
   */
  URI base(ImageReference repo) {
    String host = repo.apiHost();
    return URI.create((plain(host) ? "http://" : "https://") + host);
  }

  /** True when {@code a} and {@code b} have the same scheme, host and port. */
  static boolean sameOrigin(URI a, URI b) {
    return a.getScheme() != null
        && a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost() != null
        && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI u) {
    if (u.getPort() >= 0) return u.getPort();
    return "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
  }

  private boolean plain(String host) {
    String name =
        host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1) : host.split(":")[0];
    return name.equals("localhost")
        || name.equals("127.0.0.1")
        || name.equals("[::1]")
        || plainHttp.contains(host);
  }

  private BoundedHttp.Response exchange(
      String method,
      ImageReference repo,
      String path,
      boolean push,
      Map<String, String> headers,
      byte[] body,
      int maxBytes)
      throws IOException {
    return exchange(
        method,
        base(repo).resolve("/v2/" + repo.repository() + "/" + path),
        repo,
        push,
        headers,
        body,
        maxBytes);
  }

  /**
   * One request, with authentication, redirects (GET and HEAD only, credentials only to the
   * registry itself) and retries of 429, 5xx and refused connections; a final refusal is thrown as
   * its {@link RegistryException}.
   */
  private BoundedHttp.Response exchange(
      String method,
      URI uri,
      ImageReference repo,
      boolean push,
      Map<String, String> headers,
      byte[] body,
      int maxBytes)
      throws IOException {
    String host = repo.apiHost();
    String scope = "repository:" + repo.repository() + ":" + (push ? "pull,push" : "pull");
    boolean authenticated = false;
    int attempt = 0;
    int redirects = 0;
    URI target = uri;
    while (true) {
      HttpRequest.Builder b =
          HttpRequest.newBuilder(target)
              .timeout(deadline)
              .method(
                  method,
                  body == null
                      ? HttpRequest.BodyPublishers.noBody()
                      : HttpRequest.BodyPublishers.ofByteArray(body))
              .header("User-Agent", "custody/0.1");
      headers.forEach(b::header);
      // Credentials go only to the registry itself: the same scheme, host and port as its API. A
      // page or redirect elsewhere is fetched without them.
      boolean ours = sameOrigin(target, base(repo));
      if (ours) {
        Optional<String> auth = authorization(repo, scope);
        if (auth.isPresent()) b.header("Authorization", auth.get());
      }
      outbound.check(target);
      Duration budget = remaining(deadline, "before " + method + " " + target.getRawPath());
      b.timeout(budget);
      BoundedHttp.Response r;
      try {
        r = BoundedHttp.send(http, b.build(), maxBytes, budget);
      } catch (ConnectException | HttpTimeoutException e) {
        if (attempt++ < retries) {
          sleep(backoff(attempt));
          continue;
        }
        if (until.get() != null && until.get() - System.nanoTime() <= 0) {
          throw new RegistryException.DeadlineExceeded(
              "registry " + host + " did not answer within the request's deadline");
        }
        throw new IOException(
            "registry "
                + host
                + " did not answer "
                + method
                + " "
                + target.getRawPath()
                + ": "
                + e.getMessage(),
            e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
      int s = r.status();
      if (s == 401 && ours && !authenticated) {
        authenticated = true;
        authenticate(repo, scope, r.header("www-authenticate").orElse(null));
        continue;
      }
      if ((s == 301 || s == 302 || s == 303 || s == 307 || s == 308)
          && (method.equals("GET") || method.equals("HEAD"))) {
        if (++redirects > MAX_REDIRECTS)
          throw new RegistryException.BadAnswer(
              host + " redirected " + target + " more than " + MAX_REDIRECTS + " times");
        URI to =
            target.resolve(
                r.header("location")
                    .orElseThrow(
                        () ->
                            new RegistryException.BadAnswer(
                                host + " redirected without a Location")));
        if (target.getScheme().equals("https") && !to.getScheme().equals("https")) {
          throw new RegistryException.BadAnswer(
              host + " redirected from HTTPS to " + to.getScheme() + "; refused");
        }
        target = to;
        continue;
      }
      if ((s == 429 || s >= 500) && attempt < retries) {
        Duration wait = retryAfter(r).orElse(backoff(attempt + 1));
        if (wait.compareTo(maxRetryAfter) <= 0) {
          attempt++;
          sleep(wait);
          continue;
        }
      }
      if (s >= 200 && s < 300) return r;
      throw refusal(method, target, repo, r);
    }
  }

  private RegistryException refusal(
      String method, URI target, ImageReference repo, BoundedHttp.Response r) {
    String what = method + " " + target.getRawPath();
    String detail = errorDetail(r.body());
    String host = repo.apiHost();
    return switch (r.status()) {
      case 401 ->
          new RegistryException.Unauthorized(
              "registry "
                  + host
                  + " refused "
                  + what
                  + ": 401 Unauthorized"
                  + detail
                  + "; log in (docker login "
                  + repo.registry()
                  + ") or put its credentials in the Docker config ($DOCKER_CONFIG)");
      case 403 ->
          new RegistryException.Forbidden(
              "registry "
                  + host
                  + " refused "
                  + what
                  + ": 403 Forbidden"
                  + detail
                  + "; the login is valid but may not do this");
      case 404 ->
          new RegistryException.NotFound(
              "registry "
                  + host
                  + " has no "
                  + target.getRawPath()
                  + " (404 Not Found"
                  + detail
                  + ")");
      case 429 ->
          new RegistryException.TooManyRequests(
              "registry "
                  + host
                  + " throttled "
                  + what
                  + ": 429 Too Many Requests"
                  + detail
                  + " (still after "
                  + retries
                  + " retries); try again later");
      default ->
          new RegistryException.Refused(
              r.status(),
              "registry " + host + " refused " + what + ": HTTP " + r.status() + detail);
    };
  }

  /**
   * The registry's error codes and messages ({@code {"errors":[{"code","message"}]}}), printable,
   * or "".
   */
  private static String errorDetail(byte[] body) {
    try {
      JsonNode e = JSON.readTree(body).path("errors");
      List<String> parts = new ArrayList<>();
      for (JsonNode x : e)
        parts.add(x.path("code").asText("") + ": " + x.path("message").asText(""));
      return parts.isEmpty()
          ? ""
          : " (" + dev.custody.verify.Printable.of(String.join("; ", parts)) + ")";
    } catch (IOException | RuntimeException notJson) {
      return "";
    }
  }

  private static Optional<Duration> retryAfter(BoundedHttp.Response r) {
    Optional<String> h = r.header("retry-after");
    if (h.isEmpty() || !h.get().strip().matches("[0-9]{1,6}")) return Optional.empty();
    return Optional.of(Duration.ofSeconds(Long.parseLong(h.get().strip())));
  }

  private Duration backoff(int attempt) {
    long base = retryBase.toMillis() << Math.min(attempt - 1, 6);
    return Duration.ofMillis(base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1));
  }

  /** Sleeps {@code d}, unless that would outlast this thread's deadline: then it throws at once. */
  private void sleep(Duration d) throws IOException {
    Long u = until.get();
    if (u != null && u - System.nanoTime() < d.toNanos())
      throw new RegistryException.DeadlineExceeded("a retry would outlast the request's deadline");
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  // ---------------------------------------------------------------- authentication

  private Optional<String> authorization(ImageReference repo, String scope) throws IOException {
    String host = repo.apiHost();
    Optional<Token> t = tokens.get(host + " " + scope);
    if (t.isPresent()) return Optional.of(t.get().header());
    Optional<Challenge> c = bearer.get(host);
    if (c.isPresent()) return Optional.of(token(repo, scope, c.get()).header());
    return basic.get(host);
  }

  /**
   * Reads the challenge of a 401 and gets what it asks for, or throws {@link
   * RegistryException.Unauthorized}.
   */
  private void authenticate(ImageReference repo, String scope, String header) throws IOException {
    String host = repo.apiHost();
    Challenge c =
        Challenge.parse(header)
            .orElseThrow(
                () ->
                    new RegistryException.Unauthorized(
                        "registry " + host + " answered 401 without a WWW-Authenticate challenge"));
    switch (c.scheme()) {
      case "basic" -> {
        Credentials.Login login =
            credentials
                .forHost(repo.registry())
                .orElseThrow(
                    () ->
                        new RegistryException.Unauthorized(
                            "registry "
                                + host
                                + " wants a login and the Docker config has none for "
                                + repo.registry()
                                + "; run docker login "
                                + repo.registry()
                                + " or set $DOCKER_CONFIG"));
        basic.put(host, basicHeader(login), CHALLENGE_TTL_NANOS);
      }
      case "bearer" -> {
        bearer.put(host, c, CHALLENGE_TTL_NANOS);
        token(repo, scope, c);
      }
      default ->
          throw new RegistryException.Unauthorized(
              "registry "
                  + host
                  + " asks for "
                  + c.scheme()
                  + " authentication, which we do not speak (Basic and Bearer only)");
    }
  }

  /**
   * A token for {@code scope} from the challenge's realm (the distribution token protocol), cached
   * until it expires.
   */
  private Token token(ImageReference repo, String scope, Challenge c) throws IOException {
    String host = repo.apiHost();
    String key = host + " " + scope;
    Optional<Token> cached = tokens.get(key);
    if (cached.isPresent()) return cached.get();
    String realm = c.params().getOrDefault("realm", "");
    URI realmUri;
    try {
      realmUri = URI.create(realm);
    } catch (IllegalArgumentException e) {
      throw new RegistryException.Unauthorized(
          "registry " + host + " names an invalid token realm");
    }
    if (realmUri.getScheme() == null
        || realmUri.getAuthority() == null
        || !(realmUri.getScheme().equals("https")
            || realmUri.getScheme().equals("http") && plain(realmUri.getAuthority()))) {
      throw new RegistryException.Unauthorized(
          "registry "
              + host
              + " sends us for a token to "
              + realm
              + "; only an https realm (or http on loopback or an --insecure-registry host) is used");
    }
    // The realm is a hop like any other: a registry must not send us into our own network. And a
    // login goes to a realm over HTTPS only (or to one the operator made plain HTTP).
    outbound.check(realmUri);
    Optional<Credentials.Login> login = credentials.forHost(repo.registry());
    String service = c.params().getOrDefault("service", "");
    StringBuilder q = new StringBuilder();
    if (!service.isEmpty())
      q.append("service=").append(URLEncoder.encode(service, StandardCharsets.UTF_8));
    q.append(q.length() > 0 ? "&" : "")
        .append("scope=")
        .append(URLEncoder.encode(scope, StandardCharsets.UTF_8));
    HttpRequest.Builder b;
    if (login.isPresent() && login.get().isIdentityToken()) {
      // OAuth2 refresh-token grant (distribution's token spec): the identity token never goes in a
      // URL.
      String form =
          q
              + "&grant_type=refresh_token&client_id=custody&refresh_token="
              + URLEncoder.encode(login.get().secret(), StandardCharsets.UTF_8);
      b =
          HttpRequest.newBuilder(realmUri)
              .header("Content-Type", "application/x-www-form-urlencoded")
              .POST(HttpRequest.BodyPublishers.ofString(form));
    } else {
      b = HttpRequest.newBuilder(URI.create(realm + (realm.contains("?") ? "&" : "?") + q)).GET();
      login.ifPresent(l -> b.header("Authorization", basicHeader(l)));
    }
    Duration budget =
        remaining(deadline, "before asking " + realmUri.getAuthority() + " for a token");
    BoundedHttp.Response r;
    try {
      r =
          BoundedHttp.send(
              http,
              b.timeout(budget).header("User-Agent", "custody/0.1").build(),
              MAX_TOKEN_RESPONSE_BYTES,
              budget);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (r.status() == 401 || r.status() == 403) {
      throw new RegistryException.Unauthorized(
          "the token service of "
              + host
              + " ("
              + realmUri.getAuthority()
              + ") refused "
              + (login.isPresent()
                  ? "the login for " + repo.registry()
                  : "an anonymous token; log in (docker login " + repo.registry() + ")")
              + " for "
              + scope
              + ": HTTP "
              + r.status());
    }
    if (r.status() != 200) {
      throw new RegistryException.Refused(
          r.status(), "the token service of " + host + " answered HTTP " + r.status());
    }
    JsonNode t = json(r.body(), "the token of " + host);
    String token = t.path("token").asText(t.path("access_token").asText(""));
    if (token.length() > MAX_TOKEN) {
      throw new RegistryException.BadAnswer(
          "the token service of " + host + " answered a token of " + token.length() + " bytes");
    }
    if (token.isEmpty() || !token.matches("[\\x21-\\x7e]+")) {
      throw new RegistryException.BadAnswer(
          "the token service of " + host + " answered without a usable token");
    }
    // Expire a little early, so that a token never dies in flight; 60 s is the spec's default.
    long seconds = Math.max(10, Math.min(t.path("expires_in").asLong(60), 3600)) - 5;
    Token fresh = new Token("Bearer " + token, System.nanoTime() + seconds * 1_000_000_000L);
    tokens.put(key, fresh, seconds * 1_000_000_000L);
    return fresh;
  }

  private static String basicHeader(Credentials.Login l) {
    return "Basic "
        + Base64.getEncoder()
            .encodeToString((l.username() + ":" + l.secret()).getBytes(StandardCharsets.UTF_8));
  }

  private static JsonNode json(byte[] b, String what) throws RegistryException {
    JsonNode n;
    try {
      n = JSON.readTree(b);
    } catch (IOException e) {
      throw new RegistryException.BadAnswer(what + " is not valid JSON");
    }
    if (n == null || !n.isObject())
      throw new RegistryException.BadAnswer(what + " is not a JSON object");
    return n;
  }
}
