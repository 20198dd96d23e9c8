package dev.custody.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crash or a concurrent writer must not lose or tear a file: durable writes, private keys, and
 * locks that serialize read-check-write.
 */
class DurableFilesTest {
  @TempDir Path dir;

  @Test
  void replacedFilesAreWorldReadableAndLeaveNoTemporaryFile() throws Exception {
    Path f = dir.resolve("a/b/state");
    DurableFiles.replace(f, "one".getBytes(), DurableFiles.PUBLIC);
    DurableFiles.replace(f, "two".getBytes(), DurableFiles.PUBLIC);
    assertEquals("two", Files.readString(f));
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    try (var all = Files.list(f.getParent())) {
      assertEquals(List.of(f), all.toList());
    }
  }

  @Test
  void aNewPrivateFileNeverFollowsALinkNorReplacesAFile() throws Exception {
    Path target = dir.resolve("victim");
    Files.writeString(target, "precious");
    Path link = dir.resolve("key");
    Files.createSymbolicLink(link, target);
    assertThrows(
        FileAlreadyExistsException.class,
        () -> DurableFiles.createNew(link, "secret".getBytes(), DurableFiles.PRIVATE));
    assertEquals("precious", Files.readString(target));
    Path key = dir.resolve("fresh.key");
    DurableFiles.createNew(key, "secret".getBytes(), DurableFiles.PRIVATE);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
    assertEquals("secret", DurableFiles.readPrivate(key));
  }

  @Test
  void aPrivateKeyOthersCanReadOrALinkToOneIsRefused() throws Exception {
    Path key = dir.resolve("k");
    DurableFiles.createNew(key, "secret".getBytes(), DurableFiles.PRIVATE);
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
    assertTrue(
        assertThrows(IOException.class, () -> DurableFiles.readPrivate(key))
            .getMessage()
            .contains("chmod 600"));
    Files.setPosixFilePermissions(key, DurableFiles.PRIVATE);
    Path link = dir.resolve("l");
    Files.createSymbolicLink(link, key);
    assertTrue(
        assertThrows(IOException.class, () -> DurableFiles.readPrivate(link))
            .getMessage()
            .contains("symbolic link"));
  }

  @Test
  void aLockSerializesReadCheckWriteAcrossThreads() throws Exception {
    Path counter = dir.resolve("counter");
    DurableFiles.replace(counter, "0".getBytes(), DurableFiles.PUBLIC);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<?>> fs = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      fs.add(
          pool.submit(
              () ->
                  DurableFiles.locked(
                      dir.resolve(".lock"),
                      () -> {
                        int n = Integer.parseInt(Files.readString(counter));
                        DurableFiles.replace(
                            counter, Integer.toString(n + 1).getBytes(), DurableFiles.PUBLIC);
                        return null;
                      })));
    }
    for (Future<?> f : fs) f.get();
    pool.shutdown();
    assertEquals("200", Files.readString(counter), "no update was lost");
  }
}
