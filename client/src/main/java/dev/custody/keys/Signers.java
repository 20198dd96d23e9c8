package dev.custody.keys;

import dev.custody.chain.LinkKeys;
import dev.custody.io.DurableFiles;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.ServiceLoader;

/**
 * The one way to open a signing key, whatever holds it: {@code --key} takes a key reference and
 * this picks the implementation by its scheme.
 *
 * <ul>
 *   <li>a path, or {@code file:PATH}: a key file ({@link KeyFiles}: PKCS#8, encrypted PKCS#8,
 *       cosign), which must be readable by its owner only;
 *   <li>any other {@code scheme:} — {@code pkcs11:} (RFC 7512), and later {@code awskms://}, {@code
 *       gcpkms://}, {@code hashivault://} — by a {@link SignerProvider} on the class path ({@link
 *       ServiceLoader}): adding a KMS is one class and one service file.
 * </ul>
 */
public final class Signers {
  private Signers() {}

  /** What opens keys of one URI scheme. Implementations are found with {@link ServiceLoader}. */
  public interface SignerProvider {
    /** The scheme, lowercase, without the colon: "pkcs11", "awskms". */
    String scheme();

    /**
     * The signer {@code uri} names. The key may never leave its device: {@link
     * LinkKeys.Signer#sign} is then a call to it, and {@link LinkKeys.Signer#privateKeyPem} throws.
     */
    LinkKeys.Signer open(String uri, Passwords passwords) throws KeyFileException;
  }

  public static LinkKeys.Signer open(String ref, Passwords passwords) throws KeyFileException {
    String scheme = scheme(ref);
    if (scheme == null || scheme.equals("file")) {
      Path file = scheme == null ? Path.of(ref) : Path.of(URI.create(ref).getPath());
      String text;
      try {
        text = DurableFiles.readPrivate(file);
      } catch (IOException e) {
        throw new KeyFileException("cannot read the key " + file + ": " + e.getMessage(), e);
      }
      return KeyFiles.readSigner(text, file.toString(), passwords);
    }
    for (SignerProvider p : ServiceLoader.load(SignerProvider.class)) {
      if (p.scheme().equals(scheme)) return p.open(ref, passwords);
    }
    throw new KeyFileException(
        "no signer for \""
            + scheme
            + ":\" keys is built in (key files and pkcs11: are); "
            + "a KMS backend is a SignerProvider on the class path (see docs/design/keys.md)");
  }

  /** The URI scheme of {@code ref}, lowercased, or null for a plain path. */
  static String scheme(String ref) {
    int colon = ref.indexOf(':');
    if (colon < 2) return null; // "C:" on Windows, or no scheme
    String s = ref.substring(0, colon);
    return s.matches("[A-Za-z][A-Za-z0-9+.-]*") ? s.toLowerCase(Locale.ROOT) : null;
  }
}
