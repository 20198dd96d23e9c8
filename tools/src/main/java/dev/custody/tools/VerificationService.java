package dev.custody.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.http.OutboundPolicy;
import dev.custody.logclient.LogClient;
import dev.custody.logclient.LogException;
import dev.custody.registry.ImageReference;
import dev.custody.registry.RegistryClient;
import dev.custody.registry.RegistryException;
import dev.custody.serving.Daemons;
import dev.custody.serving.HttpResponse;
import dev.custody.serving.Routes;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.logging.Logger;

/**
 * The verification service's routes, for admission controllers: {@code POST /v1/verify} ({@code
 * {"image": REF}} → a verdict), {@code POST /gatekeeper} (OPA Gatekeeper's external data provider
 * protocol, {@code externaldata.gatekeeper.sh/v1beta1}) and {@code GET /metrics}.
 *
 * <p>A tag is resolved on every request (a moved tag is seen at once); the verdict for the digest
 * it names is cached by manifest digest and the log's checkpoint size, so a new checkpoint (new
 * links may change a verdict) starts afresh, and for at most {@code cacheTtl}. The log's checkpoint
 * is read at most once per {@code checkpointRefresh} and each new one is checked for consistency
 * with the stored one before it is used: a log that forks turns every verdict into an error.
 *
 * <p>Thread-safe: routes run on the endpoint's worker threads at once.
 */
final class VerificationService {
  /** Most image references one Gatekeeper request may carry. */
  static final int MAX_KEYS = 256;

  /** Most verdicts remembered; the least recently used is dropped first. */
  static final int CACHE_ENTRIES = 10_000;

  static final String GATEKEEPER_API = "externaldata.gatekeeper.sh/v1beta1";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Logger LOG = Logger.getLogger(VerificationService.class.getName());

  /**
   * How much the service takes on at once, and for how long; every default in one place.
   *
   * @param requestTimeout one deadline for a request: registry calls, retries, redirects and tokens
   * @param concurrency verifications under way at once, all registries together
   * @param perRegistry verifications under way at once against one registry: a registry that stalls
   *     holds at most these
   */
  record Limits(Duration requestTimeout, int concurrency, int perRegistry) {
    static final Limits DEFAULT = new Limits(Duration.ofSeconds(10), 64, 16);

    Limits {
      if (requestTimeout.isNegative() || requestTimeout.isZero())
        throw new IllegalArgumentException("--request-timeout must be positive");
      if (concurrency < 1 || perRegistry < 1)
        throw new IllegalArgumentException("--concurrency and --per-registry are at least 1");
    }
  }

  private final ReferenceVerifier verifier;
  private final RegistryClient registryClient;
  private final Limits limits;
  private final ThreadPoolExecutor executor;
  private final Map<String, Semaphore> registries = new ConcurrentHashMap<>();
  private final LogClient log; // null offline
  private final Duration cacheTtl;
  private final Duration checkpointRefresh;
  private final LongSupplier clock;
  private final Map<String, Cached> cache =
      new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Cached> e) {
          return size() > CACHE_ENTRIES;
        }
      };
  private final Object checkpointLock = new Object();
  private long checkpointSize = -1;
  private long checkpointReadAt;
  private String logFailure;

  private final PrometheusRegistry metrics = new PrometheusRegistry();
  private final Counter verdicts =
      Counter.builder()
          .name("custody_verifier_verdicts_total")
          .help(
              "Verdicts given, by outcome (verified, not_verified, error) and whether they came from the cache")
          .labelNames("outcome", "cached")
          .register(metrics);
  private final Histogram latency =
      Histogram.builder()
          .name("custody_verifier_request_seconds")
          .help("Time to answer a request, by endpoint")
          .labelNames("endpoint")
          .classicUpperBounds(
              0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
          .classicOnly()
          .register(metrics);
  private final Counter checkpoints =
      Counter.builder()
          .name("custody_verifier_checkpoints_total")
          .help("Checkpoints read from the log, by result (accepted, refused)")
          .labelNames("result")
          .register(metrics);

  private record Cached(long checkpointSize, long expiresAtNanos, ObjectNode verdict) {}

  /**
   * @param log the log, pinned to the policy's log keys and holding the checkpoint store; or null
   *     when verdicts come from attached bundles only (then the cache key's checkpoint is 0 and
   *     only {@code cacheTtl} expires a verdict)
   */
  VerificationService(
      ReferenceVerifier verifier,
      RegistryClient registryClient,
      LogClient log,
      Duration cacheTtl,
      Duration checkpointRefresh,
      Limits limits,
      LongSupplier nanoClock) {
    this.verifier = verifier;
    this.registryClient = registryClient;
    this.limits = limits;
    this.executor =
        new ThreadPoolExecutor(
            limits.concurrency(),
            limits.concurrency(),
            60,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(limits.concurrency() * 8),
            Daemons.named("custody-verify"));
    this.log = log;
    this.cacheTtl = cacheTtl;
    this.checkpointRefresh = checkpointRefresh;
    this.clock = nanoClock;
  }

  /**
   * The service's routes. Health and metrics answer at once, on the event loop; a verification runs
   * on this service's executor under one deadline ({@code requestTimeout}), never on the event
   * loop, so slow registries hold neither the loop nor the health check.
   */
  Routes routes() {
    return Routes.builder()
        .async(Set.of("POST"), "/v1/verify", timed("/v1/verify", r -> verifyRoute(r.body())))
        .async(Set.of("POST"), "/gatekeeper", timed("/gatekeeper", r -> gatekeeperRoute(r.body())))
        .async(Set.of("GET"), "/metrics", timed("/metrics", r -> done(metricsRoute())))
        .async(Set.of("GET"), "/healthz", r -> done(HttpResponse.text(200, "ok\n")))
        .build();
  }

  /** {@code route}, its latency observed under {@code endpoint}. */
  private Routes.Async timed(String endpoint, Routes.Async route) {
    return r -> {
      long start = System.nanoTime();
      return route
          .handle(r)
          .whenComplete(
              (x, e) -> latency.labelValues(endpoint).observe((System.nanoTime() - start) / 1e9));
    };
  }

  private static CompletableFuture<HttpResponse> done(HttpResponse r) {
    return CompletableFuture.completedFuture(r);
  }

  private CompletableFuture<HttpResponse> verifyRoute(byte[] body) {
    String image;
    try {
      JsonNode req = JSON.readTree(body);
      image = req == null ? null : req.path("image").asText(null);
    } catch (IOException e) {
      return done(
          json(
              400,
              failure(
                  Failure.badReference(
                      "the request is not JSON: send {\"image\": \"HOST/REPO:TAG\"}"))));
    }
    if (image == null || image.isEmpty())
      return done(
          json(
              400,
              failure(Failure.badReference("no \"image\": send {\"image\": \"HOST/REPO:TAG\"}"))));
    ImageReference ref;
    try {
      ref = ImageReference.parse(image);
    } catch (IllegalArgumentException e) {
      return done(json(400, failure(Failure.badReference(e.getMessage()))));
    }
    return verdictWithin(ref)
        .thenApply(
            v ->
                v.failure() == null
                    ? json(200, v.verdict())
                    // The registry or the log did not answer, or refused: no verdict. 502 (503 when
                    // busy) so that a caller fails closed, never reads it as "unsigned".
                    : json(v.failure().status(), failure(v.failure())));
  }

  private CompletableFuture<HttpResponse> gatekeeperRoute(byte[] body) {
    ObjectNode resp =
        JSON.createObjectNode().put("apiVersion", GATEKEEPER_API).put("kind", "ProviderResponse");
    ObjectNode r = resp.putObject("response").put("idempotent", true);
    ArrayNode items = r.putArray("items");
    JsonNode req;
    try {
      req = JSON.readTree(body);
    } catch (IOException e) {
      req = null;
    }
    if (req == null
        || !"ProviderRequest".equals(req.path("kind").asText())
        || !req.path("request").path("keys").isArray()) {
      r.put("systemError", "not a " + GATEKEEPER_API + " ProviderRequest with request.keys");
      return done(json(200, resp));
    }
    JsonNode keys = req.path("request").path("keys");
    if (keys.size() > MAX_KEYS) {
      r.put("systemError", keys.size() + " keys in one request; at most " + MAX_KEYS);
      return done(json(200, resp));
    }
    // Every key at once, each under the request's deadline: one slow registry delays only its own
    // keys, and the answer comes by the deadline whatever the registries do.
    List<CompletableFuture<Outcome>> pending = new ArrayList<>();
    for (JsonNode k : keys) {
      String key = k.asText();
      try {
        pending.add(verdictWithin(ImageReference.parse(key)));
      } catch (IllegalArgumentException e) {
        pending.add(
            CompletableFuture.completedFuture(
                new Outcome(null, Failure.badReference(e.getMessage()))));
      }
    }
    return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
        .thenApply(
            nothing -> {
              for (int i = 0; i < pending.size(); i++) {
                ObjectNode item = items.addObject().put("key", keys.get(i).asText());
                Outcome o = pending.get(i).join();
                if (o.failure() != null) {
                  item.putNull("value");
                  item.put("error", o.failure().reasonClass() + ": " + o.failure().message());
                  continue;
                }
                ObjectNode v = o.verdict();
                item.set("value", v);
                // Gatekeeper's simplest template denies on any error: a failed verdict is one, so
                // that a policy that forgets to look at value.verified still fails closed.
                item.put(
                    "error",
                    v.path("verified").asBoolean()
                        ? ""
                        : "not verified: " + v.path("reason").asText("see value"));
              }
              return json(200, resp);
            });
  }

  /** A verdict, or why there is none. */
  record Outcome(ObjectNode verdict, Failure failure) {}

  /**
   * The verdict for {@code ref}, by the request's deadline: checked against the policy first (no
   * I/O for a repository no signer names), then on the executor under the global and per-registry
   * caps.
   */
  CompletableFuture<Outcome> verdictWithin(ImageReference ref) {
    if (!verifier.policyNames(ref.repositoryName())) {
      verdicts.labelValues("not_verified", "false").inc();
      ObjectNode v =
          JSON.createObjectNode()
              .put("verified", false)
              .put("reason_class", "policy")
              .put("reason", "no policy signer names repository " + ref.repositoryName())
              .put("image", ref.toString())
              .put("cached", false);
      return CompletableFuture.completedFuture(new Outcome(v, null));
    }
    String registry = ref.apiHost();
    Semaphore perRegistry =
        registries.computeIfAbsent(registry, h -> new Semaphore(limits.perRegistry()));
    if (!perRegistry.tryAcquire()) {
      return CompletableFuture.completedFuture(
          new Outcome(
              null,
              Failure.busy(
                  limits.perRegistry()
                      + " requests to registry "
                      + registry
                      + " are already under way; retry shortly")));
    }
    CompletableFuture<Outcome> f;
    try {
      f =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return new Outcome(
                      registryClient.within(limits.requestTimeout(), () -> verdict(ref)), null);
                } catch (IOException | RuntimeException e) {
                  return new Outcome(null, classify(ref, e));
                }
              },
              executor);
    } catch (RejectedExecutionException full) {
      perRegistry.release();
      return CompletableFuture.completedFuture(
          new Outcome(
              null, Failure.busy("the verification service is at capacity; retry shortly")));
    }
    f.whenComplete((x, e) -> perRegistry.release());
    return f.completeOnTimeout(
            new Outcome(
                null,
                new Failure(
                    "timeout",
                    "no verdict within " + limits.requestTimeout().toSeconds() + " s",
                    504)),
            limits.requestTimeout().toMillis() + 250,
            TimeUnit.MILLISECONDS)
        .thenApply(
            o -> {
              if (o.failure() != null) verdicts.labelValues("error", "false").inc();
              return o;
            });
  }

  /**
   * What a caller is told of a failure: a reason class and a short message of our own words. The
   * exception's text (what a registry answered, TLS details, a target's error body) goes to this
   * service's log only: a caller must not learn what answered at an address it chose.
   */
  Failure classify(ImageReference ref, Throwable e) {
    Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    String registry = ref.apiHost();
    // One line, no stack: a service under attack must not drown its log.
    LOG.info("no verdict for " + ref + ": " + t);
    if (t instanceof OutboundPolicy.RefusedException)
      return new Failure(
          "registry-not-allowed",
          "registry " + registry + " is not one this service may reach (see --allow-registry)",
          502);
    if (t instanceof RegistryException.DeadlineExceeded || t instanceof HttpTimeoutException)
      return new Failure("timeout", "registry " + registry + " did not answer in time", 504);
    if (t instanceof RegistryException.TooManyRequests)
      return new Failure("registry-unavailable", "registry " + registry + " is throttling", 502);
    if (t instanceof RegistryException.Refused x && x.status() >= 500)
      return new Failure(
          "registry-unavailable",
          "registry " + registry + " failed (HTTP " + x.status() + ")",
          502);
    if (t instanceof RegistryException x && x.status() > 0)
      return new Failure(
          "registry-refused", "registry " + registry + " refused (HTTP " + x.status() + ")", 502);
    if (t instanceof RegistryException)
      return new Failure(
          "registry-bad-answer", "registry " + registry + " answered something unusable", 502);
    if (t instanceof LogException || t instanceof LogUnavailable)
      return new Failure(
          "log-unavailable", "the log did not give a checkpoint this service trusts", 502);
    return new Failure("registry-unavailable", "registry " + registry + " did not answer", 502);
  }

  /** Why there is no verdict: a reason class for programs and a message for people. */
  record Failure(String reasonClass, String message, int status) {
    static Failure badReference(String message) {
      return new Failure("bad-reference", message, 400);
    }

    static Failure busy(String message) {
      return new Failure("busy", message, 503);
    }
  }

  /** The log's checkpoint could not be had or was refused. */
  static final class LogUnavailable extends IOException {
    LogUnavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * The verdict for {@code ref}: from the cache when the digest and checkpoint match, else verified
   * now.
   */
  ObjectNode verdict(ImageReference ref) throws IOException {
    long size = currentCheckpointSize();
    RegistryClient.RemoteImage image = verifier.resolve(ref);
    String signedRepository = ref.repositoryName();
    String key = image.ref().digest() + " " + signedRepository;
    synchronized (cache) {
      Cached c = cache.get(key);
      if (c != null && c.checkpointSize() == size && clock.getAsLong() - c.expiresAtNanos() < 0) {
        ObjectNode v = c.verdict().deepCopy().put("cached", true);
        verdicts
            .labelValues(v.path("verified").asBoolean() ? "verified" : "not_verified", "true")
            .inc();
        return v;
      }
    }
    ReferenceVerifier.Verdict v = verifier.check(image, signedRepository);
    ObjectNode out = Verdicts.json(JSON, image.image(), v.result(), v.failure());
    out.put("image", image.ref().toString());
    if (!v.ok()) out.put("reason_class", v.result() == null ? "not-signed" : "policy");
    synchronized (cache) {
      cache.put(key, new Cached(size, clock.getAsLong() + cacheTtl.toNanos(), out.deepCopy()));
    }
    verdicts.labelValues(v.ok() ? "verified" : "not_verified", "false").inc();
    return out.put("cached", false);
  }

  /**
   * The size of the newest checkpoint accepted, read afresh at most once per refresh interval and
   * checked against the stored one; 0 offline.
   *
   * @throws IOException the log forked or its checkpoint does not verify: no verdict can stand
   */
  long currentCheckpointSize() throws IOException {
    if (log == null) return 0;
    synchronized (checkpointLock) {
      long now = clock.getAsLong();
      if (checkpointSize >= 0
          && now - checkpointReadAt < checkpointRefresh.toNanos()
          && logFailure == null) return checkpointSize;
      try {
        checkpointSize =
            log.checkpoint()
                .size(); // checked against the policy's log keys and the stored checkpoint
        checkpointReadAt = now;
        logFailure = null;
        checkpoints.labelValues("accepted").inc();
        return checkpointSize;
      } catch (LogException.Untrusted e) {
        checkpoints.labelValues("refused").inc();
        logFailure = "the log's checkpoint was refused: " + e.getMessage();
        throw new LogUnavailable(logFailure, e);
      } catch (LogException.Refused e) {
        throw new LogUnavailable("the log did not answer: " + e.getMessage(), e);
      }
    }
  }

  private HttpResponse metricsRoute() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(out, metrics.scrape());
    } catch (IOException e) {
      return HttpResponse.text(500, "metrics: " + e.getMessage() + "\n");
    }
    return new HttpResponse(200, PrometheusTextFormatWriter.CONTENT_TYPE, out.toByteArray());
  }

  private static ObjectNode failure(Failure f) {
    return JSON.createObjectNode()
        .put("verified", false)
        .put("reason_class", f.reasonClass())
        .put("error", f.message());
  }

  private static HttpResponse json(int status, ObjectNode body) {
    try {
      return new HttpResponse(status, "application/json", JSON.writeValueAsBytes(body));
    } catch (IOException e) {
      return HttpResponse.text(500, "cannot write JSON\n");
    }
  }

  /** Stops the executor; verifications under way are abandoned. */
  void close() {
    executor.shutdownNow();
  }
}
