package dev.custody.server;

import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * The log's store as a server opens it: writable, or read-only when its disk is mounted so (a log
 * on a read-only file system is still worth serving: reads work, writes fail closed).
 *
 * @param readOnly why the store takes no writes, or null when it does
 */
record OpenedStore(LogStorage storage, String readOnly) {
  private static final Logger LOG = Logger.getLogger(OpenedStore.class.getName());

  /** Opens {@code <data-dir>/db}, checking every block first when the config asks. */
  static OpenedStore open(ServerConfig c) {
    OpenedStore opened;
    try {
      opened = new OpenedStore(LogStorage.open(c.dataDir().resolve("db")), null);
    } catch (StorageException e) {
      if (!onReadOnlyFileSystem(c.dataDir())) throw e;
      LOG.warning(
          "the data directory is on a read-only file system: serving reads only; submissions get "
              + "UNAVAILABLE");
      opened =
          new OpenedStore(
              LogStorage.openReadOnly(c.dataDir().resolve("db")),
              "its data directory is on a read-only file system");
    }
    if (c.guard().verifyStore()) {
      try {
        opened.storage().verifyChecksums();
      } catch (StorageException e) {
        opened.storage().close();
        throw e;
      }
    }
    return opened;
  }

  /**
   * Whether the file system holding {@code dir} is mounted read-only (the mount's flag, not an
   * error's text).
   */
  static boolean onReadOnlyFileSystem(Path dir) {
    try {
      return Files.getFileStore(dir).isReadOnly();
    } catch (IOException e) {
      return false; // cannot tell: the store's own error stands
    }
  }
}
