package dev.custody.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * CI's short crash campaign: the real server as a child JVM, SIGKILLed under load, every promise
 * checked.
 */
class CrashCampaignIT {
  @Test
  void aShortCampaignFindsNoViolation() {
    int rounds = Integer.getInteger("custody.crash.rounds", 6);
    assertEquals(
        0,
        new CommandLine(new CrashCampaign()).execute("--rounds", Integer.toString(rounds)),
        "the campaign reported violations (see its output)");
  }
}
