package dev.custody.bench;

import dev.custody.registry.Credentials;
import dev.custody.registry.ImageReference;
import dev.custody.registry.Platform;
import dev.custody.registry.RegistryClient;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.tools.CustodyCli;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.zip.GZIPOutputStream;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Verify by reference against a local registry and log: a ten-layer image pushed to Debian's
 * docker-registry on loopback, signed (one link per layer) and attached; then the time of {@code
 * custody sign REF} (ten new links in one SubmitBatch call; the log's group commits per signing
 * counted), of {@code custody verify REF} (online and --offline; uncached: every run reads the
 * registry and the log afresh, in one warm JVM) and of the verification service's cached verdicts,
 * sequential latency and throughput with several clients, beside the ceilings of the same run: the
 * registry round trips alone (resolving the reference) and the service's endpoint answering without
 * verifying ({@code /healthz}).
 */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description =
        "Verify by reference (10 layers, local docker-registry and log): p50/p99 uncached and cached, "
            + "and the verification service's cached verdicts per second.")
final class RegistryVerify implements Callable<Integer> {
  @Option(
      names = "--runs",
      defaultValue = "100",
      description = "Uncached verifications measured (after 20 warm-up). Default: ${DEFAULT-VALUE}")
  int runs;

  @Option(
      names = "--duration",
      defaultValue = "10",
      description = "Seconds of each throughput run. Default: ${DEFAULT-VALUE}")
  int seconds;

  @Option(
      names = "--clients",
      defaultValue = "8",
      description = "Concurrent clients of the service. Default: ${DEFAULT-VALUE}")
  int clients;

  @Option(
      names = "--registry-binary",
      defaultValue = "/usr/bin/docker-registry",
      description = "Default: ${DEFAULT-VALUE}")
  Path registryBinary;

  static final int LAYERS = 10;

  /** Registries that never answer, for the measurement under attack. */
  static final int TARPITS = 16;

  /** Accepts connections on loopback and never answers them; its port. */
  private static int tarpit() throws IOException {
    ServerSocket s = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    List<Socket> held = new CopyOnWriteArrayList<>();
    Thread t =
        new Thread(
            () -> {
              try {
                while (true) held.add(s.accept());
              } catch (IOException closed) {
                // the bench is over
              }
            },
            "tarpit");
    t.setDaemon(true);
    t.start();
    return s.getLocalPort();
  }

  @Override
  public Integer call() throws Exception {
    Path dir = Files.createTempDirectory("custody-bench-registry");
    int regPort = freePort();
    Files.writeString(
        dir.resolve("config.yml"),
        "version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n"
            + "storage: {filesystem: {rootdirectory: "
            + dir.resolve("registry")
            + "}}\nhttp: {addr: 127.0.0.1:"
            + regPort
            + "}\n");
    Process registry =
        new ProcessBuilder(registryBinary.toString(), "serve", dir.resolve("config.yml").toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("registry.log").toFile())
            .start();
    LongAdder commits = new LongAdder();
    CustodyServer log =
        CustodyServer.start(
            ServerConfig.builder(dir.resolve("log"))
                .origin("bench.registry/custody")
                .anyPorts()
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> commits.increment());
    try {
      String server = "127.0.0.1:" + log.grpcPort();
      String reg = "127.0.0.1:" + regPort;
      waitFor(URI.create("http://" + reg + "/v2/"));
      String ref = reg + "/bench/app:1.0";
      String digest = push(ImageReference.parse(ref), "");
      check(0, "keygen", "--no-password", "--out", dir.resolve("team").toString());
      check(0, "sign", "--server", server, "--key", dir.resolve("team.key").toString(), ref);
      // custody sign REF, each run with a key of its own so that every run logs ten new links; on
      // an image of its own, so that the verified one keeps one chain.
      String signed = reg + "/bench/signing:1.0";
      push(ImageReference.parse(signed), " (signed again and again)");
      int signRuns = Math.min(runs, 50);
      int warmups = Math.min(20, signRuns);
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < signRuns + warmups; i++) {
        Path k = dir.resolve("signer" + i);
        check(0, "keygen", "--no-password", "--out", k.toString());
        keys.add(k + ".key");
      }
      AtomicInteger nextKey = new AtomicInteger();
      long commitsBefore = commits.sum();
      Histogram signing =
          time(
              signRuns,
              () ->
                  check(
                      0,
                      "sign",
                      "--server",
                      server,
                      "--key",
                      keys.get(nextKey.getAndIncrement()),
                      signed));
      double commitsPerSign = (commits.sum() - commitsBefore) / (double) (signRuns + warmups);
      // Attached after the signings: the offline runs then carry the log's latest checkpoint.
      check(0, "attach", "--server", server, ref);
      String vkey =
          check(0, "info", "--server", server)
              .lines()
              .filter(l -> l.startsWith("verifier_key "))
              .findFirst()
              .orElseThrow()
              .substring(13);
      // Registries that accept connections and never answer: the load a hostile Pod spec makes.
      List<Integer> pits = new ArrayList<>();
      for (int i = 0; i < TARPITS; i++) pits.add(tarpit());
      StringBuilder pitRepos = new StringBuilder();
      for (int p : pits) pitRepos.append(",\"127.0.0.1:").append(p).append("/*\"");
      Path policy = dir.resolve("policy.json");
      Files.writeString(
          policy,
          """
          {"log": {"origin": "bench.registry/custody", "verifier_key": "%s"},
           "signers": [{"name": "team", "public_key_file": "%s", "repositories": ["%s/bench/*"%s],
                        "layers": {"min": 0, "max": %d}}]}
          """
              .formatted(vkey, dir.resolve("team.pub"), reg, pitRepos, LAYERS - 1));
      String store = dir.resolve("store").toString();
      System.out.printf(
          "registry: %d-layer image at %s, docker-registry on loopback, log in-process%n",
          LAYERS, ref);

      // Ceiling for by-reference verification: the registry round trips alone (manifest and
      // config).
      RegistryClient client = RegistryClient.builder().credentials(Credentials.none()).build();
      Histogram resolve =
          time(runs, () -> client.image(ImageReference.parse(ref), Platform.DEFAULT));
      row("resolve REF (registry only; floor)", resolve);
      row("custody sign REF (10 new links)", signing);
      System.out.printf("  group commits per custody sign: %.2f%n", commitsPerSign);
      Histogram online =
          time(
              runs,
              () ->
                  check(
                      0,
                      "verify",
                      "--server",
                      server,
                      "--checkpoint-store",
                      store,
                      "--policy",
                      policy.toString(),
                      ref));
      row("custody verify REF (online)", online);
      Histogram offline =
          time(
              runs,
              () ->
                  check(
                      0,
                      "verify",
                      "--checkpoint-store",
                      store,
                      "--policy",
                      policy.toString(),
                      "--offline",
                      ref));
      row("custody verify --offline REF", offline);

      int port = freePort();
      List<String> serviceArgs =
          new ArrayList<>(
              List.of(
                  "verifier",
                  "--listen",
                  "127.0.0.1:" + port,
                  "--server",
                  server,
                  "--policy",
                  policy.toString(),
                  "--checkpoint-store",
                  store,
                  "--request-timeout",
                  "2",
                  "--allow-registry",
                  reg));
      for (int p : pits) serviceArgs.addAll(List.of("--allow-registry", "127.0.0.1:" + p));
      Thread service =
          new Thread(() -> CustodyCli.run(serviceArgs.toArray(String[]::new)), "bench-verifier");
      service.setDaemon(true);
      service.start();
      String base = "http://127.0.0.1:" + port;
      waitFor(URI.create(base + "/healthz"));
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      String byDigest = "{\"image\": \"" + reg + "/bench/app@" + digest + "\"}";
      String byTag = "{\"image\": \"" + ref + "\"}";
      post(http, base + "/v1/verify", byTag); // the one uncached verdict
      Histogram cachedDigest = time(runs * 10, () -> post(http, base + "/v1/verify", byDigest));
      row("service, cached verdict (@digest)", cachedDigest);
      Histogram cachedTag = time(runs * 10, () -> post(http, base + "/v1/verify", byTag));
      row("service, cached verdict (:tag, resolved)", cachedTag);

      // A first round warms the endpoint's code (and the clients') up; its figure is not kept.
      throughput(
          () ->
              HttpRequest.newBuilder(URI.create(base + "/v1/verify"))
                  .POST(HttpRequest.BodyPublishers.ofString(byDigest))
                  .build());
      double healthz =
          throughput(() -> HttpRequest.newBuilder(URI.create(base + "/healthz")).build());
      double digestRate =
          throughput(
              () ->
                  HttpRequest.newBuilder(URI.create(base + "/v1/verify"))
                      .POST(HttpRequest.BodyPublishers.ofString(byDigest))
                      .build());
      double tagRate =
          throughput(
              () ->
                  HttpRequest.newBuilder(URI.create(base + "/v1/verify"))
                      .POST(HttpRequest.BodyPublishers.ofString(byTag))
                      .build());
      System.out.printf(
          "%-44s %9.0f req/s  (%d clients, %d s)%n",
          "service /healthz (ceiling: no verification)", healthz, clients, seconds);
      System.out.printf(
          "%-44s %9.0f req/s  %.2f of the ceiling%n",
          "service, cached verdicts (@digest)", digestRate, digestRate / healthz);
      System.out.printf(
          "%-44s %9.0f req/s  %.2f of the ceiling%n",
          "service, cached verdicts (:tag)", tagRate, tagRate / healthz);

      // The same, while 32 Gatekeeper requests at a time ask the tarpits (each held to the
      // service's 2 s deadline, then asked again).
      AtomicBoolean attacking = new AtomicBoolean(true);
      LongAdder timeouts = new LongAdder();
      List<Thread> attackers = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        String key = "127.0.0.1:" + pits.get(i % TARPITS) + "/team/app:" + i;
        String gk =
            "{\"apiVersion\":\"externaldata.gatekeeper.sh/v1beta1\",\"kind\":\"ProviderRequest\","
                + "\"request\":{\"keys\":[\""
                + key
                + "\"]}}";
        Thread t =
            new Thread(
                () -> {
                  HttpClient h =
                      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                  while (attacking.get()) {
                    try {
                      String b =
                          h.send(
                                  HttpRequest.newBuilder(URI.create(base + "/gatekeeper"))
                                      .POST(HttpRequest.BodyPublishers.ofString(gk))
                                      .build(),
                                  HttpResponse.BodyHandlers.ofString())
                              .body();
                      if (b.contains("timeout:")) timeouts.increment();
                    } catch (Exception e) {
                      return;
                    }
                  }
                });
        t.setDaemon(true);
        attackers.add(t);
        t.start();
      }
      Thread.sleep(2_500); // every tarpit request is in flight
      Histogram underLoad = time(runs * 10, () -> post(http, base + "/v1/verify", byDigest));
      row("service, cached verdict (@digest), tarpits", underLoad);
      double healthzLoaded =
          throughput(() -> HttpRequest.newBuilder(URI.create(base + "/healthz")).build());
      double digestLoaded =
          throughput(
              () ->
                  HttpRequest.newBuilder(URI.create(base + "/v1/verify"))
                      .POST(HttpRequest.BodyPublishers.ofString(byDigest))
                      .build());
      attacking.set(false);
      for (Thread t : attackers) t.join();
      // The same again without the load: the JVM is warmer now than for the first figures, so the
      // ratios compare against these.
      Histogram after = time(runs * 10, () -> post(http, base + "/v1/verify", byDigest));
      row("service, cached verdict (@digest), after", after);
      double healthzAfter =
          throughput(() -> HttpRequest.newBuilder(URI.create(base + "/healthz")).build());
      double digestAfter =
          throughput(
              () ->
                  HttpRequest.newBuilder(URI.create(base + "/v1/verify"))
                      .POST(HttpRequest.BodyPublishers.ofString(byDigest))
                      .build());
      System.out.printf(
          "%-44s %9.0f req/s  %.2f of /healthz without them (%.0f req/s, after)%n",
          "service /healthz, 32 requests on 16 tarpits",
          healthzLoaded,
          healthzLoaded / healthzAfter,
          healthzAfter);
      System.out.printf(
          "%-44s %9.0f req/s  %.2f of the rate without them (%.0f req/s, after); %d tarpit timeouts%n",
          "service, cached verdicts (@digest), tarpits",
          digestLoaded,
          digestLoaded / digestAfter,
          digestAfter,
          timeouts.sum());
    } finally {
      log.close();
      registry.destroy();
      registry.waitFor();
    }
    return 0;
  }

  /**
   * Pushes a ten-layer image (small gzip layers, a config with their diff IDs) and returns its
   * digest; {@code salt} goes into every layer, for an image of other digests.
   */
  private static String push(ImageReference ref, String salt) throws Exception {
    RegistryClient c = RegistryClient.builder().credentials(Credentials.none()).build();
    List<String> layers = new ArrayList<>();
    List<String> diffIds = new ArrayList<>();
    for (int i = 0; i < LAYERS; i++) {
      byte[] content =
          ("bench layer " + i + salt + "\n").repeat(64).getBytes(StandardCharsets.UTF_8);
      ByteArrayOutputStream gz = new ByteArrayOutputStream();
      try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
        g.write(content);
      }
      String d = c.pushBlob(ref, gz.toByteArray());
      layers.add(
          "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\""
              + d
              + "\",\"size\":"
              + gz.size()
              + "}");
      diffIds.add(
          "\"sha256:"
              + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content))
              + "\"");
    }
    byte[] config =
        ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
                + String.join(",", diffIds)
                + "]}}")
            .getBytes(StandardCharsets.UTF_8);
    String cd = c.pushBlob(ref, config);
    byte[] manifest =
        ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":"
                + "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
                + cd
                + "\",\"size\":"
                + config.length
                + "},\"layers\":["
                + String.join(",", layers)
                + "]}")
            .getBytes(StandardCharsets.UTF_8);
    return c.pushManifest(ref, RegistryClient.OCI_MANIFEST, manifest).digest();
  }

  private interface Step {
    void run() throws Exception;
  }

  /**
   * Runs {@code step} up to 20 times (as often as it is timed, if less) to warm up, then {@code n}
   * times timed (microseconds).
   */
  private static Histogram time(int n, Step step) throws Exception {
    for (int i = 0; i < Math.min(20, n); i++) step.run();
    Histogram h = new Histogram(3);
    for (int i = 0; i < n; i++) {
      long t = System.nanoTime();
      step.run();
      h.recordValue((System.nanoTime() - t) / 1000);
    }
    return h;
  }

  private static void row(String what, Histogram h) {
    System.out.printf(
        "%-44s p50 %8.2f ms  p99 %8.2f ms  (%d runs)%n",
        what,
        h.getValueAtPercentile(50) / 1000.0,
        h.getValueAtPercentile(99) / 1000.0,
        h.getTotalCount());
  }

  /**
   * Requests per second from {@link #clients} threads, each with its own connection, for {@link
   * #seconds}.
   */
  private double throughput(Supplier<HttpRequest> request) throws Exception {
    LongAdder done = new LongAdder();
    long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      Thread t =
          new Thread(
              () -> {
                HttpClient h = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                while (System.nanoTime() < end) {
                  try {
                    if (h.send(request.get(), HttpResponse.BodyHandlers.ofByteArray()).statusCode()
                        == 200) done.increment();
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                }
              });
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) t.join();
    return done.sum() / (double) seconds;
  }

  private static void post(HttpClient http, String url, String body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200 || !r.body().contains("\"verified\":true"))
      throw new IllegalStateException(r.body());
  }

  /**
   * Runs the CLI in this JVM and returns what it printed; fails unless it exits with {@code code}.
   */
  private static String check(int code, String... args) {
    PrintStream out = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int rc;
    try {
      rc = CustodyCli.run(args);
    } finally {
      System.setOut(out);
    }
    if (rc != code)
      throw new IllegalStateException(String.join(" ", args) + " exited " + rc + ":\n" + buf);
    return buf.toString(StandardCharsets.UTF_8);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static void waitFor(URI uri) throws Exception {
    HttpClient h = HttpClient.newHttpClient();
    for (int i = 0; i < 400; i++) {
      try {
        h.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding());
        return;
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    throw new IllegalStateException(uri + " did not answer");
  }
}
