package dev.custody.tools;

import dev.custody.chain.LinkKeys;
import dev.custody.io.DurableFiles;
import dev.custody.keys.KeyFiles;
import dev.custody.keys.Passwords;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.KeyNames;
import java.io.Console;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "keygen",
    mixinStandardHelpOptions = true,
    description = {
      "Make a signing key pair for a team: <out>.key (private, mode 600, encrypted under a "
          + "passphrase: PKCS#8 with scrypt and AES-256) and <out>.pub (SPKI PEM, give it to verifiers for "
          + "their trust policy). The passphrase comes from CUSTODY_PASSWORD, else the terminal "
          + "asks twice. Prints the key_id."
    })
final class KeygenCommand implements Callable<Integer> {
  @Option(
      names = "--type",
      defaultValue = "ed25519",
      description =
          "ed25519 or ecdsa-p256 (signers), cosigner "
              + "(a witness key, with --name) or log (a log's checkpoint key, with --name ORIGIN: every node of a cluster "
              + "is started with it). Default: ${DEFAULT-VALUE}")
  String type;

  @Option(
      names = "--name",
      description =
          "With --type cosigner: the witness's name, e.g. witness.example/w1; "
              + "with --type log: the log's origin, e.g. log.example/custody")
  String name;

  @Option(
      names = "--out",
      required = true,
      description = "Path prefix for the two files, e.g. keys/runtime-team")
  Path out;

  @Option(
      names = "--no-password",
      description =
          "Write the signing key unencrypted (PKCS#8), as before: anyone who "
              + "can read the file can sign as you")
  boolean noPassword;

  @Override
  public Integer call() throws Exception {
    if (type.equals("cosigner")) return cosigner();
    if (type.equals("log")) return log();
    LinkKeys.Scheme scheme =
        switch (type) {
          case "ed25519" -> LinkKeys.Scheme.ED25519;
          case "ecdsa-p256" -> LinkKeys.Scheme.ECDSA_P256_SHA256;
          default ->
              throw new IllegalArgumentException(
                  "--type must be ed25519, ecdsa-p256, cosigner or log");
        };
    Path key = Path.of(out + ".key");
    Path pub = Path.of(out + ".pub");
    if (Files.exists(key, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException(key + " exists; refusing to overwrite a private key");
    }
    LinkKeys.Signer s = LinkKeys.generate(scheme);
    if (noPassword) {
      writeSecret(key, s.privateKeyPem());
      System.err.println(
          "warning: " + key + " is not encrypted: anyone who can read it can sign as you");
    } else {
      char[] password = newPassword(key);
      writeSecret(key, KeyFiles.encrypt(s, password));
      Arrays.fill(password, '\0');
    }
    Files.writeString(pub, s.publicKeyPem());
    System.out.println(
        "wrote "
            + key
            + " and "
            + pub
            + " ("
            + scheme.label()
            + (noPassword ? ", unencrypted" : ", encrypted")
            + ")");
    System.out.println("key_id " + HexFormat.of().formatHex(Hashes.sha256(s.publicKey())));
    return 0;
  }

  /** A witness key: C2SP private key text (type 0x04) in .key, its vkey in .vkey. */
  private int cosigner() throws Exception {
    if (name == null)
      throw new IllegalArgumentException("--type cosigner needs --name, e.g. witness.example/w1");
    Path key = Path.of(out + ".key");
    var s = Ed25519NoteKeys.generate(name, Ed25519NoteKeys.COSIGNATURE, new SecureRandom());
    writeSecret(key, s.privateKeyText() + "\n");
    Files.writeString(Path.of(out + ".vkey"), s.verifier().vkey() + "\n");
    System.out.println("wrote " + key + " and " + out + ".vkey");
    System.out.println("vkey " + s.verifier().vkey());
    return 0;
  }

  /**
   * A log key: C2SP private key text (type 0x01) named by the origin in .key, its vkey in .vkey.
   */
  private int log() throws Exception {
    if (name == null)
      throw new IllegalArgumentException(
          "--type log needs --name ORIGIN, e.g. log.example/custody");
    if (!KeyNames.isValid(name)) {
      throw new IllegalArgumentException(
          "origin \"" + name + "\" must be non-empty with no spaces or '+'");
    }
    Path key = Path.of(out + ".key");
    var s = Ed25519NoteKeys.generate(name, new SecureRandom());
    writeSecret(key, s.privateKeyText() + "\n");
    Files.writeString(Path.of(out + ".vkey"), s.verifier().vkey() + "\n");
    System.out.println("wrote " + key + " and " + out + ".vkey");
    System.out.println("vkey " + s.verifier().vkey());
    return 0;
  }

  /** The new key's passphrase: CUSTODY_PASSWORD, else typed twice on the terminal; never empty. */
  private static char[] newPassword(Path key) {
    String env = System.getenv(Passwords.CUSTODY_PASSWORD);
    if (env != null) {
      if (env.isEmpty())
        throw new IllegalArgumentException(
            "CUSTODY_PASSWORD is empty; give a passphrase, or --no-password");
      return env.toCharArray();
    }
    Console c = System.console();
    if (c == null) {
      throw new IllegalArgumentException(
          "the key is encrypted under a passphrase: set CUSTODY_PASSWORD, run in a "
              + "terminal to be asked, or give --no-password for an unencrypted key");
    }
    char[] a = c.readPassword("Passphrase for %s: ", key);
    char[] b = c.readPassword("The same again: ");
    if (a == null || a.length == 0)
      throw new IllegalArgumentException("an empty passphrase protects nothing; use --no-password");
    if (!Arrays.equals(a, b)) throw new IllegalArgumentException("the two passphrases differ");
    return a;
  }

  /**
   * A new file readable by its owner only, written through the handle that created it (no symbolic
   * link is followed, nothing can swap the file in between); refuses to replace one.
   */
  private static void writeSecret(Path file, String text) throws IOException {
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException(file + " exists; refusing to overwrite a private key");
    }
    DurableFiles.createNew(file, text.getBytes(StandardCharsets.UTF_8), DurableFiles.PRIVATE);
  }
}
