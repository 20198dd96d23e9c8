package dev.custody.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/**
 * Debian's SoftHSM 2 for PKCS#11 tests: fresh tokens under the folder of the configuration file
 * that {@code SOFTHSM2_CONF} names (the build sets it for each module's tests), each with an
 * Ed25519 key labelled "ed" and an ECDSA P-256 key labelled "p256", made by OpenSC's pkcs11-tool.
 * User PIN 1234. A missing tool is a failure that says how to install it, never a skip.
 */
public final class SoftHsm {
  private SoftHsm() {}

  public static final String MODULE = "/usr/lib/softhsm/libsofthsm2.so";
  public static final String PIN = "1234";

  /** The configuration file {@code SOFTHSM2_CONF} names, with new tokens {@code labels}. */
  public static Path freshTokens(String... labels) throws Exception {
    String c = System.getenv("SOFTHSM2_CONF");
    if (c == null)
      throw new IllegalStateException(
          "SOFTHSM2_CONF is not set: run the tests through Maven (surefire sets it)");
    Path conf = Path.of(c);
    Path tokens = conf.resolveSibling("softhsm-tokens");
    if (Files.exists(tokens)) {
      try (var w = Files.walk(tokens)) {
        w.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
    Files.createDirectories(tokens);
    Files.writeString(
        conf,
        "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
    for (String t : labels) {
      run(
          "/usr/bin/softhsm2-util",
          "--init-token",
          "--free",
          "--label",
          t,
          "--pin",
          PIN,
          "--so-pin",
          "5678");
      for (String[] k :
          new String[][] {{"EC:edwards25519", "ed", "01"}, {"EC:prime256v1", "p256", "02"}}) {
        run(
            "/usr/bin/pkcs11-tool",
            "--module",
            MODULE,
            "--token-label",
            t,
            "--login",
            "--pin",
            PIN,
            "--keypairgen",
            "--key-type",
            k[0],
            "--label",
            k[1],
            "--id",
            k[2]);
      }
    }
    return conf;
  }

  /** The RFC 7512 URI of key {@code object} in token {@code token}, with the PIN in it. */
  public static String uri(String token, String object, String pin) {
    return "pkcs11:token="
        + token
        + ";object="
        + object
        + "?module-path="
        + MODULE
        + "&pin-value="
        + pin;
  }

  public static void run(String... cmd) throws Exception {
    if (!Files.isExecutable(Path.of(cmd[0]))) {
      throw new IllegalStateException(
          cmd[0] + " is missing: run bin/test (it installs softhsm2, opensc and openssl)");
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", cmd) + ":\n" + out);
  }
}
