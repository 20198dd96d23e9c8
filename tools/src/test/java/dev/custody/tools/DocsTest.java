package dev.custody.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The documentation a user reads first stays a guide: the README at most 300 lines, and every
 * relative link in the README, BENCHMARKS and docs/ names a file that exists in the repository.
 */
class DocsTest {
  private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
  private static final Path ROOT = Path.of(System.getProperty("custody.root", ".."));

  @Test
  void theReadmeIsAGuideNotAManual() throws IOException {
    long lines = Files.readAllLines(ROOT.resolve("README.md")).size();
    assertTrue(lines <= 300, "README.md has " + lines + " lines; guides belong in docs/");
  }

  @Test
  void everyRelativeLinkNamesAFileOfTheRepository() throws IOException {
    List<Path> docs = new ArrayList<>();
    for (String f : List.of("README.md", "BENCHMARKS.md", "BENCHMARKS-HISTORY.md"))
      docs.add(ROOT.resolve(f));
    try (Stream<Path> s = Files.walk(ROOT.resolve("docs"))) {
      s.filter(p -> p.toString().endsWith(".md")).forEach(docs::add);
    }
    List<String> broken = new ArrayList<>();
    for (Path doc : docs) {
      Matcher m = LINK.matcher(Files.readString(doc));
      while (m.find()) {
        String target = m.group(1);
        if (target.matches("^[a-z]+:.*") || target.startsWith("#")) continue;
        String file = target.replaceAll("#.*$", "");
        Path resolved = doc.getParent().resolve(file).normalize();
        if (!resolved.startsWith(ROOT.toAbsolutePath().normalize())
            && !resolved.startsWith(ROOT.normalize()))
          broken.add(ROOT.relativize(doc) + ": " + target + " (outside the repository)");
        else if (!Files.exists(resolved)) broken.add(ROOT.relativize(doc) + ": " + target);
      }
    }
    assertEquals(List.of(), broken, "links to files that do not exist");
  }
}
