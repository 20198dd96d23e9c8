package dev.custody.bench;

import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.keys.Passwords;
import dev.custody.keys.Signers;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Links signed per second, one thread: with a key in the process (the ceiling) and with each key
 * given by {@code --key} (a pkcs11: URI, say), so a token's cost reads as a ratio within one run.
 */
@Command(
    name = "signing",
    mixinStandardHelpOptions = true,
    description =
        "Links signed per second, one thread: in-process keys beside keys given by --key (e.g. pkcs11: URIs).")
final class SigningRates implements Callable<Integer> {
  @Option(
      names = "--key",
      description = "A key reference as custody sign --key takes it (repeatable)")
  List<String> keys = new ArrayList<>();

  @Option(
      names = "--duration",
      defaultValue = "5",
      description = "Seconds per measurement, after as long a warm-up. Default: ${DEFAULT-VALUE}")
  int seconds;

  @Override
  public Integer call() throws Exception {
    System.out.printf(
        "signing: one thread, %d s warm-up and %d s measured each%n", seconds, seconds);
    double ceiling = 0;
    for (LinkKeys.Scheme scheme : LinkKeys.Scheme.values()) {
      double r = rate(LinkKeys.generate(scheme));
      ceiling = Math.max(ceiling, r);
      System.out.printf("%-60s %10.0f links/s%n", "in-process " + scheme.label(), r);
    }
    for (String k : keys) {
      LinkKeys.Signer s = Signers.open(k, Passwords.standard());
      double r = rate(s);
      System.out.printf(
          "%-60s %10.0f links/s  %.3f of the in-process %s%n",
          s.scheme().label()
              + " via "
              + k.replaceAll("pin-value=[^&]*", "pin-value=***").replaceAll("\\?.*", "?…"),
          r,
          r / rate(LinkKeys.generate(s.scheme())),
          s.scheme().label());
    }
    return 0;
  }

  private double rate(LinkKeys.Signer key) {
    Digest d = Digest.sha256Of(new byte[] {1});
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < end) sign(key, d, 0);
    long n = 0;
    long start = System.nanoTime();
    end = start + seconds * 1_000_000_000L;
    while (System.nanoTime() < end) sign(key, d, n++);
    return n / ((System.nanoTime() - start) / 1e9);
  }

  private static void sign(LinkKeys.Signer key, Digest d, long i) {
    SignedLink.sign(
        new Statement("registry.example/bench/app", d, 0, d, d, d, Statement.NO_PREDECESSOR, i),
        key);
  }
}
