package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.custody.server.ServerMain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The flag reference in docs/reference/ is generated from the commands themselves (picocli's help
 * of every command and subcommand), so it cannot drift from the code: this test fails when it
 * differs, and {@code -Dreference.write=true} writes it anew:
 *
 * <pre>mvn -B -pl tools test -Dtest=FlagReferenceTest -Dreference.write=true</pre>
 */
class FlagReferenceTest {
  @Test
  void theCommandLinesReferenceIsCurrent() throws Exception {
    check("custody.md", "The `custody` command line", new CommandLine(new CustodyCli()));
  }

  @Test
  void theServersReferenceIsCurrent() throws Exception {
    check("custody-server.md", "The `custody-server` command", new CommandLine(new ServerMain()));
  }

  private static void check(String file, String title, CommandLine cmd) throws Exception {
    Path path =
        Path.of(System.getProperty("custody.root", "..")).resolve("docs/reference").resolve(file);
    String want = render(title, cmd);
    if (Boolean.getBoolean("reference.write")) {
      Files.createDirectories(path.getParent());
      Files.writeString(path, want, StandardCharsets.UTF_8);
    }
    String have = Files.exists(path) ? Files.readString(path, StandardCharsets.UTF_8) : "";
    assertEquals(
        want,
        have,
        path
            + " differs from the commands' help: regenerate it with mvn -B -pl tools test "
            + "-Dtest=FlagReferenceTest -Dreference.write=true");
  }

  /** Every command's help, as its --help prints it at 80 columns, one section per command. */
  static String render(String title, CommandLine root) {
    StringBuilder out =
        new StringBuilder("# ")
            .append(title)
            .append("\n\nGenerated from the commands' own help by `FlagReferenceTest`; do not ")
            .append("edit by hand. Every command also prints its part with `--help`.\n");
    append(out, root, root.getCommandName());
    return out.toString();
  }

  private static void append(StringBuilder out, CommandLine cmd, String path) {
    out.append("\n## `").append(path).append("`\n\n```\n");
    out.append(cmd.getUsageMessage(CommandLine.Help.Ansi.OFF).stripTrailing()).append("\n```\n");
    for (var sub : cmd.getSubcommands().entrySet()) {
      if (!sub.getKey().equals(sub.getValue().getCommandName())) continue; // an alias
      append(out, sub.getValue(), path + " " + sub.getKey());
    }
  }
}
