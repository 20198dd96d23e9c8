package dev.custody.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shared test vectors at {@code ../shared/vectors} from the project root. Missing vectors fail
 * the test: a vector test that skips is a test that can never fail.
 */
public final class Vectors {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Vectors() {}

  public static Path root() {
    String projectRoot = System.getProperty("custody.root");
    Path base = projectRoot != null ? Path.of(projectRoot) : Path.of("").toAbsolutePath();
    // Maven may run a module from its own folder; walk up to the folder that has ../shared.
    for (Path p = base.toAbsolutePath(); p != null; p = p.getParent()) {
      Path v = p.resolveSibling("shared").resolve("vectors");
      if (Files.isDirectory(v)) return v;
    }
    throw new AssertionError(
        "test vectors not found: expected ../shared/vectors beside the project root " + base);
  }

  public static Path path(String first, String... more) {
    Path p = root().resolve(first);
    for (String m : more) p = p.resolve(m);
    if (!Files.exists(p)) throw new AssertionError("test vector missing: " + p);
    return p;
  }

  public static JsonNode json(Path p) {
    try {
      return JSON.readTree(p.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
