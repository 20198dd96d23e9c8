package dev.custody.server.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.custody.io.DurableFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The folder export's promises: never replace a published file, checkpoint only over the one read,
 * no leftovers.
 */
class FolderSinkTest {
  @TempDir Path dir;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aPublishedFileIsNeverReplacedAndTheCheckpointOnlyOverTheOneRead() throws Exception {
    Path leftover = dir.resolve("tile/0/.000" + DurableFiles.TEMP_SUFFIX);
    Files.createDirectories(leftover.getParent());
    Files.write(leftover, b("half a tile"));
    FolderSink sink = new FolderSink(dir);
    assertFalse(Files.exists(leftover), "a crash's temporary file is removed at start");
    sink.putImmutable("tile/0/000", b("tile"));
    sink.putImmutable("tile/0/000", b("tile")); // the same bytes again: done already
    assertThrows(
        TileSink.ConflictException.class, () -> sink.putImmutable("tile/0/000", b("another tile")));
    assertArrayEquals(b("tile"), Files.readAllBytes(dir.resolve("tile/0/000")));
    assertEquals(Optional.empty(), sink.checkpoint());
    sink.putCheckpoint(b("one"), Optional.empty());
    assertThrows(
        TileSink.ConflictException.class, () -> sink.putCheckpoint(b("two"), Optional.empty()));
    sink.putCheckpoint(b("two"), Optional.of(b("one")));
    assertArrayEquals(b("two"), sink.checkpoint().orElseThrow());
  }
}
