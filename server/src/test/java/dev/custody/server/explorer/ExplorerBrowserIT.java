package dev.custody.server.explorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpServer;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.verify.Bundle;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The explorer in a real browser: Debian's chromium, driven by Selenium through Debian's
 * chromedriver (nothing downloaded), over a real server holding the three-team chain and a stray
 * signature on the top layer (whose repository name holds markup). Each page is opened, read and
 * saved as a screenshot under target/explorer-screenshots; the in-browser proof checks must say
 * "ok", and "failed" when a proxy between the browser and the server flips one byte of a proof.
 */
class ExplorerBrowserIT {
  static final String HOSTILE = "registry.example/apps/<script>alert(1)</script>";
  static final Path SHOTS = Path.of("target", "explorer-screenshots");
  @TempDir static Path dir;
  static CustodyServer server;
  static String base;
  static WebDriver browser;
  static final List<SignedLink> chain = new ArrayList<>();
  static SignedLink stray;
  static Digest appImage;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    server =
        CustodyServer.start(
            ServerConfig.builder(dir.resolve("data"))
                .origin("explorer.test/custody")
                .anyPorts()
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> {});
    base = "http://127.0.0.1:" + server.httpPort();
    ManagedChannel ch =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    try {
      TransparencyLogGrpc.TransparencyLogBlockingStub log = TransparencyLogGrpc.newBlockingStub(ch);
      String[] repos = {
        "registry.example/base/os", "registry.example/runtime/jre", "registry.example/apps/service"
      };
      List<Digest> diffIds = new ArrayList<>();
      byte[] prev = Statement.NO_PREDECESSOR;
      for (int i = 0; i < 3; i++) {
        diffIds.add(Digest.sha256Of(("diff " + i).getBytes(StandardCharsets.UTF_8)));
        Digest manifest =
            Digest.sha256Of(("image of " + (i + 1) + " layers").getBytes(StandardCharsets.UTF_8));
        SignedLink l =
            SignedLink.sign(
                new Statement(
                    repos[i],
                    manifest,
                    i,
                    Digest.sha256Of(("blob " + i).getBytes()),
                    diffIds.get(i),
                    ChainIds.of(diffIds).get(i),
                    prev,
                    System.currentTimeMillis()),
                LinkKeys.generate(
                    i == 1 ? LinkKeys.Scheme.ECDSA_P256_SHA256 : LinkKeys.Scheme.ED25519));
        log.submit(SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(l.encoded())).build());
        chain.add(l);
        prev = l.linkId();
        appImage = manifest;
      }
      Statement top = chain.get(2).statement();
      stray =
          SignedLink.sign(
              new Statement(
                  HOSTILE,
                  top.manifestDigest(),
                  2,
                  top.layerDigest(),
                  top.diffId(),
                  top.chainId(),
                  chain.get(1).linkId(),
                  System.currentTimeMillis()),
              LinkKeys.generate(LinkKeys.Scheme.ED25519));
      log.submit(SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(stray.encoded())).build());
    } finally {
      ch.shutdownNow();
    }
    if (!Files.isExecutable(Path.of("/usr/bin/chromedriver"))
        || !Files.isExecutable(Path.of("/usr/bin/chromium"))) {
      throw new IllegalStateException(
          "chromium and chromium-driver are missing: run bin/test (it installs them) or "
              + "apt-get install -y chromium chromium-driver");
    }
    ChromeOptions o =
        new ChromeOptions()
            .setBinary("/usr/bin/chromium")
            .addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,1000",
                "--user-data-dir=" + dir.resolve("chromium-profile"));
    browser =
        new ChromeDriver(
            new ChromeDriverService.Builder()
                .usingDriverExecutable(new File("/usr/bin/chromedriver"))
                .usingAnyFreePort()
                .build(),
            o);
    Files.createDirectories(SHOTS);
  }

  @AfterAll
  static void stop() {
    if (browser != null) browser.quit();
    server.close();
  }

  static void shot(String name) throws Exception {
    Files.write(
        SHOTS.resolve(name + ".png"),
        ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }

  /** Waits for every proof check on the page to finish, and returns their states. */
  static List<String> verdicts() {
    new WebDriverWait(browser, Duration.ofSeconds(15))
        .until(
            d ->
                d.findElements(By.cssSelector(".verification")).stream()
                    .noneMatch(
                        e ->
                            "pending".equals(e.getDomAttribute("data-verification"))
                                && e.getText().contains("checking")));
    return browser.findElements(By.cssSelector(".verification")).stream()
        .map(e -> e.getDomAttribute("data-verification"))
        .toList();
  }

  static HttpResponse<String> get(String path, String accept) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(base + path)).header("Accept", accept).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode json(String path) throws Exception {
    HttpResponse<String> r = get(path, "application/json");
    assertEquals(200, r.statusCode(), r.body());
    return new ObjectMapper().readTree(r.body());
  }

  @Test
  void theStatusPageShowsTheLogAndIsLockedDown() throws Exception {
    browser.get(base + "/");
    assertTrue(browser.getTitle().contains("Status"), browser.getTitle());
    assertEquals("4", browser.findElement(By.id("tree-size")).getText());
    assertTrue(browser.findElement(By.id("vkey")).getText().startsWith("explorer.test/custody+"));
    // The charts, drawn on the server from the stored checkpoints and the /metrics counters.
    assertFalse(
        browser
            .findElement(By.cssSelector("#growth-chart polyline"))
            .getDomAttribute("points")
            .isBlank());
    assertTrue(
        browser.findElement(By.cssSelector("#outcomes-chart")).getText().contains("appended 4"),
        browser.findElement(By.cssSelector("#outcomes-chart")).getText());
    // Both charts have axes with a scale and titles: round value ticks from 0 to at least the
    // largest value, the time span under the line, each axis named.
    for (String chart : List.of("#growth-chart", "#outcomes-chart")) {
      List<String> ticks =
          browser.findElements(By.cssSelector(chart + " .value-tick")).stream()
              .map(e -> e.getText())
              .toList();
      assertEquals("0", ticks.get(0), chart + " " + ticks);
      assertTrue(Long.parseLong(ticks.get(ticks.size() - 1)) >= 4, chart + " " + ticks);
      assertEquals(2, browser.findElements(By.cssSelector(chart + " .axis-line")).size());
      assertEquals(2, browser.findElements(By.cssSelector(chart + " .axis-title")).size());
    }
    assertTrue(
        browser.findElement(By.cssSelector("#growth-chart")).getText().contains("log time (UTC)"));
    assertTrue(
        browser
            .findElement(By.cssSelector("#growth-chart .category-tick"))
            .getText()
            .matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ"),
        browser.findElement(By.cssSelector("#growth-chart .category-tick")).getText());
    // Recent checkpoints: one size per row, newest first, never run together.
    List<String> sizes =
        browser.findElements(By.cssSelector("#recent-checkpoints tbody tr td:first-child")).stream()
            .map(e -> e.getText())
            .toList();
    assertEquals("4", sizes.get(0), sizes.toString());
    for (String size : sizes) assertTrue(size.matches("\\d+"), sizes.toString());
    shot("status");
    HttpResponse<String> r = get("/", "text/html");
    String csp = r.headers().firstValue("content-security-policy").orElse("");
    assertTrue(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), csp);
    assertEquals(4, json("/").path("treeSize").asLong());
    // Read-only: nothing but GET and HEAD.
    assertEquals(
        405,
        http.send(
                HttpRequest.newBuilder(URI.create(base + "/search"))
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.discarding())
            .statusCode());
  }

  @Test
  void theChainPageDrawsTheLayersChecksEachProofAndFlagsTheStrayLink() throws Exception {
    browser.get(base + "/chains/" + appImage);
    List<String> v = verdicts();
    assertEquals(List.of("ok", "ok", "ok"), v, browser.getPageSource());
    String page = browser.findElement(By.tagName("main")).getText();
    assertTrue(
        page.contains("registry.example/base/os")
            && page.contains("registry.example/runtime/jre")
            && page.contains("registry.example/apps/service"),
        page);
    assertTrue(
        browser
            .findElement(By.cssSelector(".warning"))
            .getText()
            .contains("also name this image at its top layer"),
        page);
    shot("chain");
    JsonNode j = json("/chains/" + appImage);
    assertEquals(3, j.path("links").size());
    assertEquals(1, j.path("otherTops").size());
  }

  /**
   * A key pinned in the browser is what the checks use: another key fails them, the log's own
   * passes.
   */
  @Test
  void aPinnedVerifierKeyIsWhatTheBrowserChecksAgainst() throws Exception {
    String real = json("/").path("verifierKey").asText();
    String other =
        Ed25519NoteKeys.generate("explorer.test/custody", new SecureRandom()).verifier().vkey();
    try {
      browser.get(base + "/");
      browser.findElement(By.id("pin-input")).sendKeys(other);
      browser.findElement(By.id("pin-button")).click();
      assertEquals(other, browser.findElement(By.id("pinned-key")).getText());
      browser.get(base + "/chains/" + appImage);
      assertEquals(List.of("failed", "failed", "failed"), verdicts());
      assertTrue(
          browser
              .findElement(By.cssSelector(".verification"))
              .getText()
              .contains("no signature by the log's key"),
          browser.findElement(By.cssSelector(".verification")).getText());
      browser.get(base + "/");
      browser.findElement(By.id("pin-input")).sendKeys(real);
      browser.findElement(By.id("pin-button")).click();
      browser.get(base + "/chains/" + appImage);
      assertEquals(List.of("ok", "ok", "ok"), verdicts());
      assertTrue(
          browser
              .findElement(By.cssSelector(".verification"))
              .getText()
              .contains("with the key you pinned"));
    } finally {
      browser.get(base + "/");
      browser.findElement(By.id("unpin-button")).click();
    }
    browser.get(base + "/chains/" + appImage);
    assertEquals(List.of("ok", "ok", "ok"), verdicts());
    assertTrue(
        browser
            .findElement(By.cssSelector(".verification"))
            .getText()
            .contains("with the key the server states"));
  }

  /** A policy pasted on the chain page marks each layer as custody verify would. */
  @Test
  void aPastedPolicyIsLaidOverTheChain() throws Exception {
    String vkey = json("/").path("verifierKey").asText();
    String trusted = policy(vkey, 3);
    browser.get(base + "/chains/" + appImage);
    browser.findElement(By.name("policy")).sendKeys(trusted);
    browser.findElement(By.cssSelector(".policy-form button")).click();
    new WebDriverWait(browser, Duration.ofSeconds(10))
        .until(d -> !d.findElements(By.id("policy-verdict")).isEmpty());
    assertEquals(
        "ok",
        browser.findElement(By.id("policy-verdict")).getDomAttribute("data-policy"),
        browser.getPageSource());
    assertEquals(
        List.of("ok", "ok", "ok"),
        browser.findElements(By.cssSelector("div.policy")).stream()
            .map(e -> e.getDomAttribute("data-policy"))
            .toList());
    assertEquals(List.of("ok", "ok", "ok"), verdicts());
    shot("chain-policy");

    // Without the application team's key, layer 2 fails with custody verify's own words.
    browser.get(base + "/chains/" + appImage);
    browser.findElement(By.name("policy")).sendKeys(policy(vkey, 2));
    browser.findElement(By.cssSelector(".policy-form button")).click();
    new WebDriverWait(browser, Duration.ofSeconds(10))
        .until(d -> !d.findElements(By.id("policy-verdict")).isEmpty());
    assertEquals(
        "fail", browser.findElement(By.id("policy-verdict")).getDomAttribute("data-policy"));
    List<WebElement> marks = browser.findElements(By.cssSelector("div.policy"));
    assertEquals("fail", marks.get(2).getDomAttribute("data-policy"));
    assertTrue(
        marks.get(2).getText().contains("signed by a key the policy does not trust"),
        marks.get(2).getText());

    HttpResponse<String> junk =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/chains/" + appImage + "/policy"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("policy=%7Bnot+json"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, junk.statusCode());
    assertTrue(
        new ObjectMapper()
            .readTree(junk.body())
            .path("overlay")
            .path("error")
            .asText()
            .contains("not a trust policy"));
  }

  /** A policy trusting the first {@code teams} keys of the chain, each for its own layer. */
  static String policy(String vkey, int teams) {
    String[] repos = {
      "registry.example/base/*", "registry.example/runtime/*", "registry.example/apps/*"
    };
    List<String> signers = new ArrayList<>();
    for (int i = 0; i < teams; i++) {
      signers.add(
          "{\"name\": \"team "
              + i
              + "\", \"key_id\": \""
              + HexFormat.of().formatHex(chain.get(i).keyId())
              + "\", \"repositories\": [\""
              + repos[i]
              + "\"], \"layers\": {\"min\": "
              + i
              + ", \"max\": "
              + i
              + "}}");
    }
    return "{\"log\": {\"origin\": \"explorer.test/custody\", \"verifier_key\": \""
        + vkey
        + "\"}, \"signers\": ["
        + String.join(", ", signers)
        + "]}";
  }

  @Test
  void searchFindsByEveryKindOfKey() throws Exception {
    SignedLink runtime = chain.get(1);
    String hex = HexFormat.of().formatHex(runtime.linkId());
    assertEquals(1L, json("/search?q=1").path("rows").get(0).path("index").asLong());
    assertEquals(1L, json("/search?q=" + hex).path("rows").get(0).path("index").asLong());
    // The leaf hash of entry 1: the leaf bytes come from the entry's own JSON.
    byte[] leaf = HexFormat.of().parseHex(json("/entries/1").path("leafHex").asText());
    assertEquals(
        1L,
        json("/search?q=" + HexFormat.of().formatHex(Hashes.leafHash(leaf)))
            .path("rows")
            .get(0)
            .path("index")
            .asLong());
    assertEquals(
        1L,
        json("/search?q=" + HexFormat.of().formatHex(runtime.keyId()))
            .path("rows")
            .get(0)
            .path("index")
            .asLong());
    assertEquals(
        2,
        json("/search?q=" + appImage).path("rows").size(),
        "the app team's link and the stray one");
    assertEquals(
        0L, json("/search?q=registry.example/base/os").path("rows").get(0).path("index").asLong());
    JsonNode prefix = json("/search?q=registry.example/*");
    assertEquals(4, prefix.path("repositories").size(), prefix.toString());
    assertEquals(
        "registry.example/apps/<script>alert(1)</script>",
        prefix.path("repositories").get(0).asText());
    assertEquals(
        List.of("registry.example/runtime/jre"),
        new ObjectMapper()
            .convertValue(json("/search?q=registry.example/r*").path("repositories"), List.class));
    assertEquals(
        1L,
        json("/search?q=" + runtime.statement().layerDigest())
            .path("rows")
            .get(0)
            .path("index")
            .asLong(),
        "a layer digest");
    assertTrue(
        json("/search?q=nothing.example/none")
            .path("note")
            .asText()
            .contains("completeness comes from monitoring"));

    browser.get(base + "/");
    WebElement box = browser.findElement(By.name("q"));
    box.sendKeys("registry.example/runtime/jre");
    box.submit();
    new WebDriverWait(browser, Duration.ofSeconds(10))
        .until(d -> d.getCurrentUrl().contains("/search?q="));
    assertTrue(
        browser.findElement(By.id("understood")).getText().contains("a repository: 1 link"),
        browser.getPageSource());
    shot("search");
    browser.get(base + "/keys/" + HexFormat.of().formatHex(runtime.keyId()));
    assertTrue(
        browser.findElement(By.tagName("main")).getText().contains("registry.example/runtime/jre"));
    shot("key");
    browser.get(base + "/repositories/registry.example/runtime/jre");
    assertTrue(
        browser.findElement(By.tagName("main")).getText().contains("Layers signed (this page)"));
    shot("repository");
  }

  @Test
  void anEntryShowsItsStatementProofAndBundleAndEscapesHostileNames() throws Exception {
    browser.get(base + "/entries/3");
    assertEquals(List.of("ok"), verdicts());
    assertEquals(
        HOSTILE,
        browser.findElement(By.id("repository")).getText(),
        "markup in a repository name is text");
    assertEquals(1, browser.findElements(By.tagName("script")).size(), "only explorer.js");
    assertThrows(NoAlertPresentException.class, () -> browser.switchTo().alert());
    shot("entry");
    JsonNode e = json("/entries/3");
    assertEquals(HOSTILE, e.path("link").path("repository").asText());
    assertEquals(1L, e.path("prevIndex").asLong());
    assertTrue(
        get("/entries/3", "text/html").body().contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    HttpResponse<byte[]> bundle =
        http.send(
            HttpRequest.newBuilder(URI.create(base + "/entries/2/bundle")).build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertTrue(
        bundle.headers().firstValue("content-disposition").orElse("").contains("attachment"));
    assertEquals(3, Bundle.parse(bundle.body()).links().size());
  }

  /**
   * The page of a repository prefix advertises its Atom feed in its head; the browser fetches it
   * and its own XML parser reads it, hostile name and all, without running anything.
   */
  @Test
  void aRepositoryPageAdvertisesAFeedTheBrowserParses() throws Exception {
    browser.get(base + "/repositories/" + URLEncoder.encode(HOSTILE, StandardCharsets.UTF_8));
    String href =
        (String)
            ((JavascriptExecutor) browser)
                .executeScript(
                    "return document.querySelector("
                        + "'head link[rel=alternate][type=\"application/atom+xml\"]').href");
    assertTrue(href.endsWith("/feed.atom"), href);
    @SuppressWarnings("unchecked")
    List<Object> parsed =
        (List<Object>)
            ((JavascriptExecutor) browser)
                .executeAsyncScript(
                    "const done = arguments[arguments.length - 1];"
                        + "fetch(arguments[0]).then(r => r.text()).then(t => {"
                        + "  const d = new DOMParser().parseFromString(t, 'application/xml');"
                        + "  done([d.getElementsByTagName('parsererror').length,"
                        + "        d.documentElement.namespaceURI,"
                        + "        d.getElementsByTagName('entry').length,"
                        + "        d.querySelector('entry > title').textContent]);"
                        + "});",
                    href);
    assertEquals(0L, parsed.get(0), "well-formed XML");
    assertEquals("http://www.w3.org/2005/Atom", parsed.get(1));
    assertEquals(1L, parsed.get(2));
    assertTrue(
        ((String) parsed.get(3)).contains("of " + HOSTILE + " signed by"), parsed.toString());
    assertThrows(NoAlertPresentException.class, () -> browser.switchTo().alert());
  }

  @Test
  void aTamperedProofShowsFailed() throws Exception {
    // A proxy on loopback (still a secure context) that flips one byte of the first proof hash.
    HttpServer proxy = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    proxy.createContext(
        "/",
        ex -> {
          try (ex) {
            HttpResponse<byte[]> r =
                http.send(
                    HttpRequest.newBuilder(URI.create(base + ex.getRequestURI())).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            byte[] body = r.body();
            if (ex.getRequestURI().getPath().startsWith("/entries/"))
              body = flipFirstProofByte(body);
            r.headers()
                .firstValue("content-type")
                .ifPresent(t -> ex.getResponseHeaders().add("Content-Type", t));
            ex.sendResponseHeaders(r.statusCode(), body.length);
            ex.getResponseBody().write(body);
          } catch (InterruptedException e) {
            throw new IOException(e);
          }
        });
    proxy.start();
    try {
      browser.get("http://127.0.0.1:" + proxy.getAddress().getPort() + "/entries/1");
      assertEquals(List.of("failed"), verdicts());
      assertTrue(browser.findElement(By.cssSelector(".verification")).getText().contains("FAILED"));
      shot("entry-tampered");
    } finally {
      proxy.stop(0);
    }
  }

  /** The first hash in the page's data-proof attribute, decoded, one bit flipped, encoded again. */
  static byte[] flipFirstProofByte(byte[] html) {
    String s = new String(html, StandardCharsets.UTF_8);
    int at = s.indexOf("data-proof=\"") + "data-proof=\"".length();
    int end = s.indexOf(',', at);
    if (end < 0 || end > s.indexOf('"', at)) end = s.indexOf('"', at);
    byte[] h = Base64.getDecoder().decode(s.substring(at, end));
    h[0] ^= 1;
    return (s.substring(0, at) + Base64.getEncoder().encodeToString(h) + s.substring(end))
        .getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void unknownThingsAre404AndBadQueries400() throws Exception {
    assertEquals(404, get("/entries/99", "text/html").statusCode());
    assertEquals(404, get("/entries/abc", "text/html").statusCode());
    assertEquals(404, get("/keys/" + "00".repeat(32), "text/html").statusCode());
    assertEquals(404, get("/chains/sha256:" + "00".repeat(32), "application/json").statusCode());
    assertEquals(400, get("/chains/sha256:zz", "text/html").statusCode());
    assertEquals(400, get("/checkpoints?from=3&to=99", "text/html").statusCode());
    assertFalse(json("/checkpoints?from=1&to=4").path("consistency").path("hashes").isEmpty());
    browser.get(base + "/checkpoints?from=2&to=4");
    assertFalse(browser.findElement(By.id("consistency")).getText().isBlank());
    shot("checkpoints");
  }
}
