package dev.custody.server.admission;

import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Runs admission's signature checks before the port opens, for every key type a link may use, so
 * that the first submissions after a start meet compiled code rather than a cold interpreter. A
 * cold first check took long enough for everything queued behind it to look like overload.
 *
 * <p>Admission changes no state, so checking a bottom-layer link made here touches nothing in the
 * log.
 */
public final class Warmup {
  private Warmup() {}

  /** Checks per key type, unless {@code budgetMillis} runs out first. */
  static final int CHECKS_PER_SCHEME = 3_000;

  /**
   * @return how long the warm-up took, in milliseconds
   */
  public static long run(Admission admission, long budgetMillis) {
    long start = System.nanoTime();
    long perScheme = TimeUnit.MILLISECONDS.toNanos(budgetMillis) / LinkKeys.Scheme.values().length;
    for (LinkKeys.Scheme scheme : LinkKeys.Scheme.values()) {
      byte[] link = sampleLink(LinkKeys.generate(scheme));
      long until = System.nanoTime() + perScheme;
      for (int i = 0; i < CHECKS_PER_SCHEME && System.nanoTime() < until; i++) {
        try {
          admission.admit(link);
        } catch (AdmissionException e) {
          throw new IllegalStateException(
              "a freshly signed " + scheme.label() + " link fails admission: " + e.getMessage(), e);
        }
      }
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  private static byte[] sampleLink(LinkKeys.Signer key) {
    Digest d = Digest.sha256Of("custody warm-up".getBytes(StandardCharsets.UTF_8));
    return SignedLink.sign(
            new Statement("custody.invalid/warm-up", d, 0, d, d, d, Statement.NO_PREDECESSOR, 0),
            key)
        .encoded();
  }
}
