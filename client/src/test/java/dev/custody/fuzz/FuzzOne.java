package dev.custody.fuzz;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.lang.reflect.Method;
import java.util.Arrays;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs one fuzz target of {@link ParserFuzzTest} in this JVM (Jazzer fuzzes one target per JVM):
 * {@code FuzzOne <method>}, with {@code JAZZER_FUZZ=1} in the environment to fuzz rather than
 * replay. Exits 0 when it found nothing, 1 with the failure on standard error.
 */
public final class FuzzOne {
  private FuzzOne() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: FuzzOne <ParserFuzzTest method>");
      System.exit(2);
    }
    // By the Method itself: a selector by name finds only methods without parameters.
    Method target =
        Arrays.stream(ParserFuzzTest.class.getDeclaredMethods())
            .filter(m -> m.getName().equals(args[0]))
            .findFirst()
            .orElse(null);
    if (target == null) {
      System.err.println("no fuzz target " + args[0] + " in ParserFuzzTest");
      System.exit(2);
    }
    LauncherDiscoveryRequest request =
        LauncherDiscoveryRequestBuilder.request()
            .selectors(selectMethod(ParserFuzzTest.class, target))
            .build();
    SummaryGeneratingListener summary = new SummaryGeneratingListener();
    LauncherFactory.create().execute(request, summary);
    TestExecutionSummary s = summary.getSummary();
    // A fuzz test is a template: its runs are found as they start, not before.
    if (s.getTestsStartedCount() == 0) {
      System.err.println("fuzz target " + args[0] + " of ParserFuzzTest ran nothing");
      System.exit(2);
    }
    if (s.getTotalFailureCount() > 0) {
      s.getFailures().forEach(f -> f.getException().printStackTrace());
      System.exit(1);
    }
    System.exit(0);
  }
}
