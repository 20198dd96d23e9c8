package dev.custody.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.custody.logclient.LogClient;
import dev.custody.logclient.LogException;
import dev.custody.registry.ImageReference;
import dev.custody.registry.RegistryClient;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

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

  private final ReferenceVerifier verifier;
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
      LogClient log,
      Duration cacheTtl,
      Duration checkpointRefresh,
      LongSupplier nanoClock) {
    this.verifier = verifier;
    this.log = log;
    this.cacheTtl = cacheTtl;
    this.checkpointRefresh = checkpointRefresh;
    this.clock = nanoClock;
  }

  HttpEndpoint.Reply handle(String method, String path, byte[] body) {
    long start = System.nanoTime();
    try {
      return switch (path) {
        case "/v1/verify" ->
            method.equals("POST") ? verifyRoute(body) : HttpEndpoint.Reply.text(405, "POST only\n");
        case "/gatekeeper" ->
            method.equals("POST")
                ? gatekeeperRoute(body)
                : HttpEndpoint.Reply.text(405, "POST only\n");
        case "/metrics" -> metricsRoute();
        case "/healthz" -> HttpEndpoint.Reply.text(200, "ok\n");
        default ->
            HttpEndpoint.Reply.text(
                404, "not found: POST /v1/verify, POST /gatekeeper, GET /metrics\n");
      };
    } finally {
      latency
          .labelValues(
              path.equals("/v1/verify") || path.equals("/gatekeeper") || path.equals("/metrics")
                  ? path
                  : "other")
          .observe((System.nanoTime() - start) / 1e9);
    }
  }

  private HttpEndpoint.Reply verifyRoute(byte[] body) {
    String image;
    try {
      JsonNode req = JSON.readTree(body);
      image = req == null ? null : req.path("image").asText(null);
    } catch (IOException e) {
      return json(400, error("the request is not JSON: send {\"image\": \"HOST/REPO:TAG\"}"));
    }
    if (image == null || image.isEmpty())
      return json(400, error("no \"image\": send {\"image\": \"HOST/REPO:TAG\"}"));
    ImageReference ref;
    try {
      ref = ImageReference.parse(image);
    } catch (IllegalArgumentException e) {
      return json(400, error(e.getMessage()));
    }
    try {
      return json(200, verdict(ref));
    } catch (IOException | RuntimeException e) {
      verdicts.labelValues("error", "false").inc();
      // The registry or the log refused: no verdict. 502 so that a caller fails closed, not
      // "unsigned".
      return json(502, error(e.getMessage() == null ? e.toString() : e.getMessage()));
    }
  }

  private HttpEndpoint.Reply gatekeeperRoute(byte[] body) {
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
      return json(200, resp);
    }
    JsonNode keys = req.path("request").path("keys");
    if (keys.size() > MAX_KEYS) {
      r.put("systemError", keys.size() + " keys in one request; at most " + MAX_KEYS);
      return json(200, resp);
    }
    for (JsonNode k : keys) {
      String key = k.asText();
      ObjectNode item = items.addObject().put("key", key);
      try {
        ObjectNode v = verdict(ImageReference.parse(key));
        item.set("value", v);
        // Gatekeeper's simplest template denies on any error: a failed verdict is one, so that a
        // policy that forgets to look at value.verified still fails closed.
        item.put(
            "error",
            v.path("verified").asBoolean()
                ? ""
                : "not verified: " + v.path("reason").asText("see value"));
      } catch (IllegalArgumentException e) {
        item.putNull("value");
        item.put("error", e.getMessage());
      } catch (IOException | RuntimeException e) {
        verdicts.labelValues("error", "false").inc();
        item.putNull("value");
        item.put("error", "no verdict: " + e.getMessage());
      }
    }
    return json(200, resp);
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
        throw new IOException(logFailure, e);
      } catch (LogException.Refused e) {
        throw new IOException("the log did not answer: " + e.getMessage(), e);
      }
    }
  }

  private HttpEndpoint.Reply metricsRoute() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(out, metrics.scrape());
    } catch (IOException e) {
      return HttpEndpoint.Reply.text(500, "metrics: " + e.getMessage() + "\n");
    }
    return new HttpEndpoint.Reply(200, PrometheusTextFormatWriter.CONTENT_TYPE, out.toByteArray());
  }

  private static ObjectNode error(String message) {
    return JSON.createObjectNode().put("verified", false).put("error", message);
  }

  private static HttpEndpoint.Reply json(int status, ObjectNode body) {
    try {
      return new HttpEndpoint.Reply(status, "application/json", JSON.writeValueAsBytes(body));
    } catch (IOException e) {
      return HttpEndpoint.Reply.text(500, "cannot write JSON\n");
    }
  }
}
