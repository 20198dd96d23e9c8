package dev.custody.note;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * Ed25519 note keys (signature type 0x01) and their two C2SP text forms:
 * the verifier key {@code name+hex(id)+base64(0x01 || public key)} and the private key
 * {@code PRIVATE+KEY+name+hex(id)+base64(0x01 || seed)} that Go's sumdb/note also reads.
 * Bouncy Castle rather than the JDK: about 8 times faster to verify here.
 */
public final class Ed25519NoteKeys {
  public static final byte TYPE = 0x01;
  private static final String PRIVATE_PREFIX = "PRIVATE+KEY+";
  // SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) of 32 bytes }
  private static final byte[] SPKI_PREFIX = java.util.HexFormat.of().parseHex("302a300506032b6570032100");

  private Ed25519NoteKeys() {}

  /** A signer with its private key; the key bytes never appear in toString. */
  public static final class Signer implements NoteSigner {
    private final String name;
    private final int keyId;
    private final Ed25519PrivateKeyParameters key;

    private Signer(String name, Ed25519PrivateKeyParameters key) {
      this.name = name;
      this.key = key;
      this.keyId = KeyNames.keyId(name, TYPE, key.generatePublicKey().getEncoded());
    }

    @Override public String name() { return name; }

    @Override public int keyId() { return keyId; }

    @Override public byte[] sign(byte[] text) {
      Ed25519Signer s = new Ed25519Signer();
      s.init(true, key);
      s.update(text, 0, text.length);
      return s.generateSignature();
    }

    public byte[] publicKey() {
      return key.generatePublicKey().getEncoded();
    }

    public Verifier verifier() {
      return new Verifier(name, keyId, key.generatePublicKey());
    }

    /** The private key in C2SP text form. Handle as a secret. */
    public String privateKeyText() {
      return PRIVATE_PREFIX + name + "+" + hexId(keyId) + "+" + Base64s.encode(typed(key.getEncoded()));
    }

    @Override public String toString() {
      return "Ed25519NoteSigner[" + name + "+" + hexId(keyId) + "]";
    }
  }

  public static final class Verifier implements NoteVerifier {
    private final String name;
    private final int keyId;
    private final Ed25519PublicKeyParameters key;

    private Verifier(String name, int keyId, Ed25519PublicKeyParameters key) {
      this.name = name;
      this.keyId = keyId;
      this.key = key;
    }

    @Override public String name() { return name; }

    @Override public int keyId() { return keyId; }

    @Override public boolean verify(byte[] text, byte[] signature) {
      if (signature.length != Ed25519PrivateKeyParameters.SIGNATURE_SIZE) return false;
      Ed25519Signer s = new Ed25519Signer();
      s.init(false, key);
      s.update(text, 0, text.length);
      return s.verifySignature(signature);
    }

    public byte[] publicKey() {
      return key.getEncoded();
    }

    /** The key as X.509 SubjectPublicKeyInfo DER (RFC 8410): a fixed 12-byte header, then the key. */
    public byte[] subjectPublicKeyInfo() {
      return ByteBuffer.allocate(SPKI_PREFIX.length + 32).put(SPKI_PREFIX).put(key.getEncoded()).array();
    }

    /** The verifier key in C2SP vkey form. */
    public String vkey() {
      return name + "+" + hexId(keyId) + "+" + Base64s.encode(typed(key.getEncoded()));
    }

    @Override public String toString() {
      return "Ed25519NoteVerifier[" + vkey() + "]";
    }
  }

  public static Signer generate(String name, SecureRandom random) {
    requireName(name);
    return new Signer(name, new Ed25519PrivateKeyParameters(random));
  }

  public static Signer signerFromSeed(String name, byte[] seed) {
    requireName(name);
    if (seed.length != Ed25519PrivateKeyParameters.KEY_SIZE) throw new IllegalArgumentException("seed must be 32 bytes");
    return new Signer(name, new Ed25519PrivateKeyParameters(seed, 0));
  }

  public static Verifier verifierFromPublicKey(String name, byte[] publicKey) {
    requireName(name);
    if (publicKey.length != Ed25519PublicKeyParameters.KEY_SIZE) {
      throw new IllegalArgumentException("Ed25519 public key must be 32 bytes");
    }
    return new Verifier(name, KeyNames.keyId(name, TYPE, publicKey), new Ed25519PublicKeyParameters(publicKey, 0));
  }

  /** Parses {@code PRIVATE+KEY+name+id+key}; refuses other types and a key ID that does not match. */
  public static Signer parsePrivateKey(String text) throws NoteException {
    String t = text.strip();
    if (!t.startsWith(PRIVATE_PREFIX)) throw new NoteException("private key text must start with " + PRIVATE_PREFIX);
    Parts p = split(t.substring(PRIVATE_PREFIX.length()), "private key");
    Signer s = signerFromSeed(p.name, p.key);
    if (s.keyId() != p.keyId) throw new NoteException("private key's key ID does not match its name and key");
    return s;
  }

  /** Parses a vkey {@code name+id+key}; refuses other types and a key ID that does not match. */
  public static Verifier parseVerifierKey(String vkey) throws NoteException {
    Parts p = split(vkey.strip(), "verifier key");
    Verifier v = verifierFromPublicKey(p.name, p.key);
    if (v.keyId() != p.keyId) throw new NoteException("verifier key's key ID does not match its name and key");
    return v;
  }

  private record Parts(String name, int keyId, byte[] key) {}

  private static Parts split(String s, String what) throws NoteException {
    String[] parts = s.split("\\+", 3); // the base64 key may itself contain '+'
    if (parts.length != 3) throw new NoteException(what + " must have the form name+hexid+base64key");
    if (!KeyNames.isValid(parts[0])) throw new NoteException(what + " has an invalid key name");
    if (!parts[1].matches("[0-9a-f]{8}")) throw new NoteException(what + " key ID must be 8 lowercase hex digits");
    Optional<byte[]> typed = Base64s.decodeStrict(parts[2]);
    if (typed.isEmpty()) throw new NoteException(what + " key is not canonical base64");
    byte[] b = typed.get();
    if (b.length == 0 || b[0] != TYPE) throw new NoteException(what + " is not an Ed25519 (type 0x01) key");
    if (b.length != 1 + 32) throw new NoteException(what + " must hold a 32-byte Ed25519 key");
    byte[] key = new byte[32];
    System.arraycopy(b, 1, key, 0, 32);
    return new Parts(parts[0], (int) Long.parseLong(parts[1], 16), key);
  }

  private static void requireName(String name) {
    if (!KeyNames.isValid(name)) {
      throw new IllegalArgumentException("key name must be non-empty with no spaces or '+': " + name);
    }
  }

  private static byte[] typed(byte[] key) {
    return ByteBuffer.allocate(1 + key.length).put(TYPE).put(key).array();
  }

  static String hexId(int keyId) {
    return HexFormat.of().toHexDigits(keyId);
  }
}
