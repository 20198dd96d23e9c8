package dev.custody.server;

import dev.custody.chain.LinkKeys;
import dev.custody.keys.KeyFileException;
import dev.custody.keys.Passwords;
import dev.custody.keys.Signers;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.KeyNames;
import dev.custody.note.NoteSigner;
import dev.custody.server.keys.KeyHistory;
import dev.custody.server.keys.LogKeyException;
import dev.custody.server.keys.LogKeyFile;
import dev.custody.server.keys.LogKeys;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Who the log is: its origin and the keys that sign its checkpoints. A data directory belongs to
 * one origin for ever, and to the keys its {@link KeyHistory} allows: the first start records them;
 * a later start must present them, may add a next key that signs beside them (rotation), and may
 * retire an old one for good. Anything else would let a log sign a second history under a new name
 * or key.
 *
 * @param signing the keys that sign every checkpoint, the log's key first, then the next key while
 *     the log rotates
 */
public record LogIdentity(String origin, List<SigningKey> signing, KeyHistory history) {
  private static final Logger LOG = Logger.getLogger(LogIdentity.class.getName());

  /** One signing key: where its signatures come from, and the key that checks them. */
  public record SigningKey(NoteSigner signer, Ed25519NoteKeys.Verifier verifier) {}

  public LogIdentity {
    if (signing.isEmpty()) throw new IllegalArgumentException("a log signs with at least one key");
    signing = List.copyOf(signing);
  }

  /** The log's key (the first of {@link #signing}). */
  public Ed25519NoteKeys.Verifier verifier() {
    return signing.get(0).verifier();
  }

  public String verifierKey() {
    return verifier().vkey();
  }

  public List<NoteSigner> signers() {
    return signing.stream().map(SigningKey::signer).toList();
  }

  /** Every key of the log's history: the signing ones first, in signing order, then the rest. */
  public List<KeyHistory.Key> keysInSigningOrder() {
    List<KeyHistory.Key> ordered = new ArrayList<>();
    for (SigningKey k : signing) history.find(k.verifier().vkey()).ifPresent(ordered::add);
    history.keys().stream().filter(k -> !ordered.contains(k)).forEach(ordered::add);
    return ordered;
  }

  /**
   * Opens the log's keys as {@code keys} says, checks them against what the store recorded ({@link
   * KeyHistory#admit}), and records the result before anything is signed with them.
   *
   * @param requestedOrigin the --origin flag, if given
   */
  public static LogIdentity establish(
      LogStorage storage, Optional<String> requestedOrigin, LogKeys keys, Path dataDir)
      throws IOException {
    Optional<String> storedOrigin = storage.origin();
    if (storedOrigin.isPresent()
        && requestedOrigin.isPresent()
        && !storedOrigin.equals(requestedOrigin)) {
      throw new LogKeyException(
          "this data directory holds the log \""
              + storedOrigin.get()
              + "\", not \""
              + requestedOrigin.get()
              + "\"; use its origin or another --data-dir");
    }
    boolean inToken = keys.key().orElse(null) instanceof LogKeys.Token;
    if (inToken && storedOrigin.isEmpty() && requestedOrigin.isEmpty()) {
      throw new LogKeyException(
          "a log whose key is in a token needs --origin (the key's name) the first time");
    }
    String origin = storedOrigin.or(() -> requestedOrigin).orElseGet(LogIdentity::defaultOrigin);
    if (!KeyNames.isValid(origin)) {
      throw new LogKeyException(
          "origin \""
              + origin
              + "\" must be non-empty with no spaces or '+' (it is also the key name)");
    }
    KeyHistory stored =
        storage.keyHistory().isPresent()
            ? KeyHistory.decode(storage.keyHistory().get())
            : storage.verifierKey().map(KeyHistory::legacy).orElse(KeyHistory.EMPTY);

    List<SigningKey> signing = new ArrayList<>();
    signing.add(
        keys.key().isPresent()
            ? open(keys.key().get(), origin)
            : defaultKey(dataDir.resolve("log.key"), origin, stored));
    if (keys.next().isPresent()) signing.add(open(keys.next().get(), origin));

    KeyHistory history =
        stored.admit(
            signing.get(0).verifier().vkey(),
            signing.size() > 1 ? Optional.of(signing.get(1).verifier().vkey()) : Optional.empty(),
            keys.retire(),
            System.currentTimeMillis());
    boolean recorded =
        history.equals(stored)
            && storage.origin().isPresent()
            && storage.keyHistory().isPresent()
            && storage.verifierKey().equals(Optional.of(signing.get(0).verifier().vkey()));
    if (!recorded && storage.readOnly()) {
      // A store on a read-only disk serves reads only: it signs nothing, so it may lack the record
      // of a history it already has (a store from before rotation), but it cannot take a new key.
      if (!history.equals(stored)) {
        throw new LogKeyException(
            "the store is read-only: it cannot record a change of the log's keys; start without"
                + " --next-key-* and --retire-key");
      }
    } else if (!recorded) {
      storage.writeIdentity(origin, signing.get(0).verifier().vkey(), history.encode());
    }
    for (KeyHistory.Key k : history.keys()) {
      Optional<KeyHistory.Key> before = stored.find(k.verifierKey());
      if (before.isEmpty() && !stored.keys().isEmpty()) {
        LOG.warning("the log now signs every checkpoint with its next key too: " + k.verifierKey());
      } else if (before.isPresent() && !before.get().retired() && k.retired()) {
        LOG.warning("retired the log key " + k.verifierKey() + ": it never signs this log again");
      }
    }
    return new LogIdentity(origin, signing, history);
  }

  /** The default key file: created for a new log, required for a log that has keys. */
  private static SigningKey defaultKey(Path file, String origin, KeyHistory stored)
      throws IOException {
    if (Files.exists(file) || !stored.keys().isEmpty()) return open(new LogKeys.File(file), origin);
    Ed25519NoteKeys.Signer signer = LogKeyFile.create(file, origin);
    LOG.info(
        "created a new log signing key in "
            + file
            + " (keep it secret, back it up); verifier key: "
            + signer.verifier().vkey());
    return new SigningKey(signer, signer.verifier());
  }

  private static SigningKey open(LogKeys.Source source, String origin) throws IOException {
    if (source instanceof LogKeys.File f) {
      if (!Files.exists(f.path())) {
        throw new LogKeyException(
            "key file "
                + f.path()
                + " is missing (if it held this log's key, restore it from its backup)");
      }
      Ed25519NoteKeys.Signer signer = LogKeyFile.read(f.path());
      if (!signer.name().equals(origin)) {
        throw new LogKeyException(
            "the key in "
                + f.path()
                + " is named \""
                + signer.name()
                + "\" but the log's origin is \""
                + origin
                + "\"; the key name must be the origin");
      }
      return new SigningKey(signer, signer.verifier());
    }
    return inToken((LogKeys.Token) source, origin);
  }

  /**
   * An Ed25519 key in a token: it signs every checkpoint there and never leaves it. Its name is the
   * origin.
   */
  private static SigningKey inToken(LogKeys.Token token, String origin) throws IOException {
    LinkKeys.Signer key;
    try {
      key = Signers.open(token.uri(), Passwords.standard());
    } catch (KeyFileException e) {
      throw new LogKeyException("the log key " + token.describe() + ": " + e.getMessage());
    }
    if (key.scheme() != LinkKeys.Scheme.ED25519) {
      throw new LogKeyException(
          "the log key must be Ed25519 (C2SP signed notes); "
              + token.describe()
              + " is "
              + key.scheme().label());
    }
    byte[] spki = key.publicKey();
    Ed25519NoteKeys.Verifier verifier =
        Ed25519NoteKeys.verifierFromPublicKey(
            origin, Arrays.copyOfRange(spki, spki.length - 32, spki.length));
    NoteSigner signer =
        new NoteSigner() {
          @Override
          public String name() {
            return origin;
          }

          @Override
          public int keyId() {
            return verifier.keyId();
          }

          @Override
          public byte[] sign(byte[] text) {
            return key.sign(text);
          }
        };
    return new SigningKey(signer, verifier);
  }

  /**
   * {@code <host name>/custody-<8 random hex digits>}: a schema-less URL, as C2SP recommends for
   * origins, and one of its own for each new log. Two logs on one host (or one log started again
   * after its data was wiped) must not share an origin: a verifier remembers checkpoints by origin,
   * and would take the second log for a fork of the first. Recorded in the store at the first
   * start, so a log keeps it.
   */
  static String defaultOrigin() {
    String host =
        Optional.ofNullable(System.getenv("HOSTNAME"))
            .filter(h -> !h.isBlank())
            .orElseGet(
                () -> {
                  try {
                    return Files.readString(Path.of("/etc/hostname")).strip();
                  } catch (IOException e) {
                    return "localhost";
                  }
                });
    String clean = host.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]", "");
    byte[] suffix = new byte[4];
    new SecureRandom().nextBytes(suffix);
    return (clean.isEmpty() ? "localhost" : clean) + "/custody-" + HexFormat.of().formatHex(suffix);
  }
}
