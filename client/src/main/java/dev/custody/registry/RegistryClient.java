package dev.custody.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkException;
import dev.custody.http.BoundedHttp;
import dev.custody.http.OutboundPolicy;
import dev.custody.oci.OciImage;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * A small client for the OCI distribution API (v2, with the 1.1 referrers API and its tag-schema
 * fallback): enough to resolve an image, read its manifest and config, read and push small blobs
 * and manifests, list and attach referrers. Layers are never downloaded: their digests are bound by
 * the manifest's, and that is what links sign.
 *
 * <p>Untrusted peer: every manifest and blob is checked against the digest it was asked by; one
 * request, with its redirects, retries, bounds and outbound policy, is {@link RegistryExchange}'s,
 * and following the registry's authentication challenge is {@link RegistryAuth}'s. This class is
 * the API and the referrers (the 1.1 API and the tag schema).
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

  private static final ObjectMapper JSON = new ObjectMapper();

  private final RequestDeadline deadline;
  private final RegistryExchange transport;
  private final Referrers referrers;

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
    private final HashSet<String> insecure = new HashSet<>();
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
    HttpClient http =
        HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(b.deadline)
            .build();
    this.deadline = new RequestDeadline(b.deadline);
    this.transport =
        new RegistryExchange(
            http,
            b.insecure,
            deadline,
            b.retries,
            b.retryBase,
            b.maxRetryAfter,
            b.outbound,
            b.credentials);
    this.referrers = new Referrers(this, transport, deadline, b.maxReferrers);
  }

  /**
   * Runs {@code work} on this thread with one deadline for everything it asks the registry:
   * retries, redirects and token requests included. A request that would outlast it fails with
   * {@link RegistryException.DeadlineExceeded}.
   */
  public <T> T within(Duration budget, Callable<T> work) throws IOException {
    return deadline.within(budget, work);
  }

  /** The manifest {@code ref} names, checked against its digest when the reference has one. */
  public Manifest manifest(ImageReference ref) throws IOException {
    BoundedHttp.Response r =
        transport.send(
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
        transport.send(
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
        transport.send("GET", repo, "blobs/" + digest, false, Map.of(), null, maxBytes);
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
      transport.send("HEAD", repo, "blobs/" + digest, true, Map.of(), null, 0);
      return digest;
    } catch (RegistryException.NotFound absent) {
      // upload below
    }
    BoundedHttp.Response started =
        transport.send("POST", repo, "blobs/uploads/", true, Map.of(), new byte[0], 64 << 10);
    String location =
        started
            .header("location")
            .orElseThrow(
                () ->
                    new RegistryException.BadAnswer(
                        repo.apiHost()
                            + " started an upload without saying where (no Location header)"));
    URI at = transport.base(repo).resolve("/v2/").resolve(location);
    if (!at.getAuthority().equals(transport.base(repo).getAuthority())) {
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
    transport.send(
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
        transport.send(
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
    return referrers.list(repo, subject, artifactType);
  }

  /**
   * Attaches an artifact to manifest {@code subject}: pushes the empty config, the payload as the
   * one layer and an image manifest with {@code artifactType} and {@code subject}, by digest; where
   * the registry does not index the subject, adds it to the referrers tag schema's index too.
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
    return referrers.attach(repo, subject, artifactType, payloadType, payload, annotations);
  }

  /** {@code b} as a JSON object, or a {@link RegistryException.BadAnswer} naming {@code what}. */
  static JsonNode json(byte[] b, String what) throws RegistryException {
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
