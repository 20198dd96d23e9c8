package dev.custody.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** $HOME decides, as for Docker and git; user.home only stands in when HOME is unset or empty. */
class HomeTest {
  @Test
  void homeComesFromTheEnvironmentFirst() {
    assertEquals(Path.of("/x"), Home.dir(Map.of("HOME", "/x"), "/home/someone"));
    assertEquals(Path.of("/home/someone"), Home.dir(Map.of(), "/home/someone"));
    assertEquals(Path.of("/home/someone"), Home.dir(Map.of("HOME", ""), "/home/someone"));
  }

  @Test
  void theTestsRunUnderTheirOwnHome() {
    // The build points HOME (and user.home) into target/: a run never reads what the person
    // running it keeps in their own home, nor leaves anything there.
    assertEquals(Path.of(System.getProperty("user.home")), Home.dir());
  }
}
