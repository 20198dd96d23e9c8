package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every command's help, at the 80 columns picocli lays it out in: each example (a description line
 * indented by two spaces) comes out whole on its own line, so that it can be copied as it stands;
 * prose is one element per paragraph, which picocli wraps at spaces.
 */
class HelpTextTest {
  @Test
  void everyExampleStaysOnWholeLines() {
    List<String> broken = new ArrayList<>();
    check(new CommandLine(new CustodyCli()), broken);
    assertTrue(broken.isEmpty(), "examples broken across lines: " + broken);
  }

  private static void check(CommandLine cmd, List<String> broken) {
    String usage = cmd.getUsageMessage(CommandLine.Help.Ansi.OFF);
    List<String> rendered = usage.lines().toList();
    List<String> lines =
        new ArrayList<>(List.of(cmd.getCommandSpec().usageMessage().description()));
    lines.addAll(List.of(cmd.getCommandSpec().usageMessage().footer()));
    for (String line : lines) {
      String l = line.replace("%n", "");
      if (l.startsWith("  ") && !l.isBlank() && !rendered.contains(l)) {
        broken.add(cmd.getCommandName() + ": " + l);
      }
      if (l.startsWith("  ") && l.length() > 80)
        broken.add(cmd.getCommandName() + " (over 80 columns): " + l);
    }
    for (CommandLine sub : cmd.getSubcommands().values()) check(sub, broken);
  }
}
