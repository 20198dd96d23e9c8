package dev.custody.server;

import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.NoteSigner;
import dev.custody.note.KeyNames;
import dev.custody.server.keys.LogKeyFile;
import dev.custody.server.storage.LogStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Who the log is: its origin and its signing key. A data directory belongs to one identity for
 * ever: the first start records it, and every later start must present the same one, or a log
 * would sign a second history under a new name or key.
 */
public record LogIdentity(String origin, NoteSigner signer, Ed25519NoteKeys.Verifier verifier) {
  private static final Logger LOG = Logger.getLogger(LogIdentity.class.getName());

  public LogIdentity(String origin, Ed25519NoteKeys.Signer signer) {
    this(origin, signer, signer.verifier());
  }

  public String verifierKey() {
    return verifier.vkey();
  }

  /**
   * The log's identity with its key in a token ({@code pkcs11:} URI): the Ed25519 key signs every
   * checkpoint there and never leaves it. The key's name is the origin (from the store, or
   * {@code requestedOrigin}); a store started with another key refuses it.
   */
  public static LogIdentity establish(LogStorage storage, Optional<String> requestedOrigin, String keyUri) throws IOException {
    String origin = storage.origin().or(() -> requestedOrigin).orElseThrow(() -> new IOException(
        "a log whose key is in a token needs --origin (the key's name) the first time"));
    if (storage.origin().isPresent() && requestedOrigin.isPresent() && !storage.origin().equals(requestedOrigin)) {
      throw new IOException("this data directory holds the log \"" + storage.origin().get() + "\", not \""
          + requestedOrigin.get() + "\"");
    }
    dev.custody.chain.LinkKeys.Signer key;
    try {
      key = dev.custody.keys.Signers.open(keyUri, dev.custody.keys.Passwords.standard());
    } catch (dev.custody.keys.KeyFileException e) {
      throw new IOException("the log key " + redacted(keyUri) + ": " + e.getMessage(), e);
    }
    if (key.scheme() != dev.custody.chain.LinkKeys.Scheme.ED25519) {
      throw new IOException("the log key must be Ed25519 (C2SP signed notes); " + redacted(keyUri) + " is " + key.scheme().label());
    }
    byte[] spki = key.publicKey();
    byte[] raw = java.util.Arrays.copyOfRange(spki, spki.length - 32, spki.length);
    Ed25519NoteKeys.Verifier verifier = Ed25519NoteKeys.verifierFromPublicKey(origin, raw);
    String vkey = verifier.vkey();
    if (storage.verifierKey().isPresent() && !storage.verifierKey().get().equals(vkey)) {
      throw new IOException("the key " + redacted(keyUri) + " (" + vkey + ") is not the key this log was started with ("
          + storage.verifierKey().get() + ")");
    }
    if (storage.origin().isEmpty() || storage.verifierKey().isEmpty()) storage.writeIdentity(origin, vkey);
    NoteSigner signer = new NoteSigner() {
      @Override public String name() {
        return origin;
      }

      @Override public int keyId() {
        return verifier.keyId();
      }

      @Override public byte[] sign(byte[] text) {
        return key.sign(text);
      }
    };
    return new LogIdentity(origin, signer, verifier);
  }

  /** A key URI for a log line: without its PIN. */
  static String redacted(String uri) {
    return uri.replaceAll("pin-value=[^&]*", "pin-value=***");
  }

  /**
   * @param requestedOrigin the --origin flag, if given
   * @param keyFile the key file; created when {@code createKeyIfMissing} and the log is new
   */
  public static LogIdentity establish(LogStorage storage, Optional<String> requestedOrigin, Path keyFile,
      boolean createKeyIfMissing) throws IOException {
    Optional<String> storedOrigin = storage.origin();
    Optional<String> storedVkey = storage.verifierKey();
    if (storedOrigin.isPresent() && requestedOrigin.isPresent() && !storedOrigin.equals(requestedOrigin)) {
      throw new IOException("this data directory holds the log \"" + storedOrigin.get()
          + "\", not \"" + requestedOrigin.get() + "\"; use its origin or another --data-dir");
    }
    String origin = storedOrigin.or(() -> requestedOrigin).orElseGet(LogIdentity::defaultOrigin);
    if (!KeyNames.isValid(origin)) {
      throw new IOException("origin \"" + origin + "\" must be non-empty with no spaces or '+' (it is also the key name)");
    }
    Ed25519NoteKeys.Signer signer;
    if (Files.exists(keyFile)) {
      signer = LogKeyFile.read(keyFile);
    } else if (storedVkey.isPresent()) {
      throw new IOException("key file " + keyFile + " is missing, but this data directory holds the log \""
          + origin + "\" signed by " + storedVkey.get() + "; restore that key");
    } else if (createKeyIfMissing) {
      signer = LogKeyFile.create(keyFile, origin);
      LOG.info("created a new log signing key in " + keyFile + " (keep it secret, back it up); verifier key: "
          + signer.verifier().vkey());
    } else {
      throw new IOException("key file " + keyFile + " does not exist");
    }
    if (!signer.name().equals(origin)) {
      throw new IOException("the key in " + keyFile + " is named \"" + signer.name()
          + "\" but the log's origin is \"" + origin + "\"; the key name must be the origin");
    }
    String vkey = signer.verifier().vkey();
    if (storedVkey.isPresent() && !storedVkey.get().equals(vkey)) {
      throw new IOException("the key in " + keyFile + " (" + vkey + ") is not the key this log was started with ("
          + storedVkey.get() + ")");
    }
    if (storedOrigin.isEmpty() || storedVkey.isEmpty()) storage.writeIdentity(origin, vkey);
    return new LogIdentity(origin, signer);
  }

  /** {@code <host name>/custody}: a schema-less URL, as C2SP recommends for origins. */
  static String defaultOrigin() {
    String host = Optional.ofNullable(System.getenv("HOSTNAME")).filter(h -> !h.isBlank()).orElseGet(() -> {
      try {
        return Files.readString(Path.of("/etc/hostname")).strip();
      } catch (IOException e) {
        return "localhost";
      }
    });
    String clean = host.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]", "");
    return (clean.isEmpty() ? "localhost" : clean) + "/custody";
  }
}
