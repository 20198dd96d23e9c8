package dev.custody.server.keys;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the log's signing keys come from, as the operator gave them.
 *
 * @param key the key that signs every checkpoint; empty means {@code <data-dir>/log.key}, created
 *     for a new log
 * @param next while the log rotates its key: the key that replaces it, signing every checkpoint
 *     beside it until verifiers have learnt it
 * @param retire verifier keys of this log's earlier keys to retire for good: they never sign again
 */
public record LogKeys(Optional<Source> key, Optional<Source> next, List<String> retire) {
  /** The default: the key file in the data directory, no rotation. */
  public static final LogKeys DEFAULT = new LogKeys(Optional.empty(), Optional.empty(), List.of());

  /** A key in a file (C2SP private key text) or in a token ({@code pkcs11:} URI, RFC 7512). */
  public sealed interface Source {
    /** Where it is, for a person, with no secret in it. */
    String describe();
  }

  public record File(Path path) implements Source {
    @Override
    public String describe() {
      return path.toString();
    }
  }

  public record Token(String uri) implements Source {
    /** The URI without its PIN. */
    @Override
    public String describe() {
      return uri.replaceAll("pin-value=[^&]*", "pin-value=***");
    }
  }

  public LogKeys {
    retire = List.copyOf(retire);
  }

  public LogKeys withKeyFile(Path file) {
    return new LogKeys(Optional.of(new File(file)), next, retire);
  }

  public LogKeys withKeyUri(String uri) {
    return new LogKeys(Optional.of(new Token(uri)), next, retire);
  }

  public LogKeys withNext(Source nextKey) {
    return new LogKeys(key, Optional.of(nextKey), retire);
  }

  public LogKeys withRetired(List<String> verifierKeys) {
    return new LogKeys(key, next, verifierKeys);
  }
}
