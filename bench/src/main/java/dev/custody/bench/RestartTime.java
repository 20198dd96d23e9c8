package dev.custody.bench;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.keys.LogKeyFile;
import dev.custody.server.sequencer.GroupCommitSequencer;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Times what a server does at start on an existing log: open RocksDB (replaying its WAL after a
 * crash) and recover the sequencer's state. Appends nothing, so the key given to the sequencer
 * signs nothing.
 */
@Command(
    name = "restart",
    mixinStandardHelpOptions = true,
    description =
        "Time opening an existing log's store and recovering its state (e.g. after `scale --crash-after-load`).")
final class RestartTime implements Callable<Integer> {
  @Option(
      names = "--data-dir",
      required = true,
      description = "The data directory (or the RocksDB folder inside it)")
  Path dataDir;

  @Override
  public Integer call() {
    // The log's own key: recovery restates the latest checkpoint only under the key that signed it
    // (a store from another log is never signed again).
    Path keyFile = dataDir.resolve("log.key");
    if (!Files.exists(keyFile)) {
      throw new IllegalArgumentException(
          "restart needs the log's key beside its store: " + keyFile + " (as `scale` leaves it)");
    }
    Ed25519NoteKeys.Signer key;
    try {
      key = LogKeyFile.read(keyFile);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    long t0 = System.nanoTime();
    // A data directory as the server and `scale` lay it out, or a bare RocksDB folder.
    LogStorage storage =
        LogStorage.open(Files.isDirectory(dataDir.resolve("db")) ? dataDir.resolve("db") : dataDir);
    long t1 = System.nanoTime();
    GroupCommitSequencer seq =
        new GroupCommitSequencer(storage, key.name(), List.of(key), 16, 16, (n, t) -> {});
    long t2 = System.nanoTime();
    System.out.printf(
        "restart: size %d; open store %.1f ms, recover state %.1f ms, total %.1f ms%n",
        seq.head().size(), (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t2 - t0) / 1e6);
    seq.close();
    storage.close();
    return 0;
  }
}
