package dev.custody.keys;

import dev.custody.chain.LinkKeys;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1PrintableString;
import org.bouncycastle.asn1.sec.SECNamedCurves;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Module;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.StaticLogger;
import org.xipki.pkcs11.wrapper.TokenException;

/**
 * Signing keys in a hardware token or an HSM, through its PKCS#11 module, named by an RFC 7512 URI:
 * {@code
 * pkcs11:token=TOKEN;object=LABEL[;id=%01]?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin}
 * (or {@code pin-source=FILE}; without either, the PIN comes from {@code CUSTODY_PKCS11_PIN} or the
 * terminal). Ed25519 keys sign with {@code CKM_EDDSA}, ECDSA P-256 keys with {@code CKM_ECDSA} over
 * a SHA-256 digest made here (some tokens have no {@code CKM_ECDSA_SHA256}); the private key never
 * leaves the token. The JDK's own PKCS#11 provider has no EdDSA on Java 17, so this uses xipki's
 * ipkcs11wrapper (a maintained fork of the IAIK wrapper, Apache 2.0).
 */
public final class Pkcs11Signers implements Signers.SignerProvider {
  public static final String PIN_VARIABLE = "CUSTODY_PKCS11_PIN";

  /**
   * One loaded module per library path, for the life of the process: a PKCS#11 library may be
   * initialised only once per process, so this one piece of state is necessarily process-wide.
   */
  private static final Map<String, PKCS11Module> MODULES = new ConcurrentHashMap<>();

  @Override
  public String scheme() {
    return "pkcs11";
  }

  /**
   * The parts of an RFC 7512 URI this reads: path attributes and query attributes, percent-decoded.
   */
  record Uri(Map<String, String> path, Map<String, String> query) {
    static Uri parse(String uri) throws KeyFileException {
      if (!uri.startsWith("pkcs11:")) throw new KeyFileException("not a pkcs11: URI");
      String rest = uri.substring("pkcs11:".length());
      int q = rest.indexOf('?');
      return new Uri(
          attrs(q < 0 ? rest : rest.substring(0, q), ";"),
          attrs(q < 0 ? "" : rest.substring(q + 1), "&"));
    }

    private static Map<String, String> attrs(String s, String sep) throws KeyFileException {
      Map<String, String> out = new LinkedHashMap<>();
      if (s.isEmpty()) return out;
      for (String a : s.split(sep)) {
        int eq = a.indexOf('=');
        if (eq <= 0)
          throw new KeyFileException("pkcs11 URI attribute \"" + a + "\" is not name=value");
        // RFC 7512 percent-encodes; '+' is a plus, not a space.
        out.put(
            a.substring(0, eq),
            URLDecoder.decode(a.substring(eq + 1).replace("+", "%2B"), StandardCharsets.UTF_8));
      }
      return out;
    }
  }

  @Override
  public LinkKeys.Signer open(String uri, Passwords passwords) throws KeyFileException {
    Uri u = Uri.parse(uri);
    String modulePath = u.query().get("module-path");
    if (modulePath == null)
      throw new KeyFileException("the pkcs11 URI needs ?module-path=/path/to/the/pkcs11-module.so");
    String token = u.path().get("token");
    String object = u.path().get("object");
    if (token == null || object == null)
      throw new KeyFileException("the pkcs11 URI needs token=… and object=… (the key's label)");
    char[] pin;
    if (u.query().containsKey("pin-value")) {
      // RFC 7512 allows it, but a PIN in a command line shows in ps and in shell history.
      Logger.getLogger(Pkcs11Signers.class.getName())
          .warning(
              "the pkcs11 URI carries the PIN (pin-value): it shows in ps and shell history; use "
                  + "pin-source=file:/path/to/pin, or "
                  + PIN_VARIABLE
                  + " in the environment");
      pin = u.query().get("pin-value").toCharArray();
    } else if (u.query().containsKey("pin-source")) {
      try {
        pin =
            Files.readString(Path.of(u.query().get("pin-source").replaceFirst("^file:", "")))
                .strip()
                .toCharArray();
      } catch (IOException e) {
        throw new KeyFileException(
            "cannot read the PIN from " + u.query().get("pin-source") + ": " + e.getMessage());
      }
    } else {
      pin = passwords.password("token " + token, PIN_VARIABLE);
    }
    try {
      PKCS11Module module = module(modulePath);
      Slot slot = null;
      for (Slot s : module.getSlotList(true)) {
        if (s.getToken().getTokenInfo().getLabel().strip().equals(token)) {
          slot = s;
          break;
        }
      }
      if (slot == null)
        throw new KeyFileException("no token labelled \"" + token + "\" in " + modulePath);
      Session session = slot.getToken().openSession(false);
      // PKCS#11 logs a token in for the whole process: once one key of it is open, C_Login
      // answers "already logged in" without looking at the PIN (a later wrong PIN is not noticed).
      try {
        session.login(PKCS11Constants.CKU_USER, pin);
      } catch (PKCS11Exception e) {
        if (e.getErrorCode() != PKCS11Constants.CKR_USER_ALREADY_LOGGED_IN) {
          session.closeSession();
          throw new KeyFileException(
              "the token \"" + token + "\" refused the PIN (" + e.getMessage() + ")");
        }
      }
      byte[] id =
          u.path().containsKey("id")
              ? u.path().get("id").getBytes(StandardCharsets.ISO_8859_1)
              : null;
      long priv = find(session, AttributeVector.newPrivateKey(), object, id, token);
      long pub = find(session, AttributeVector.newPublicKey(), object, id, token);
      AttributeVector attrs =
          session.getAttrValues(
              pub,
              PKCS11Constants.CKA_KEY_TYPE,
              PKCS11Constants.CKA_EC_POINT,
              PKCS11Constants.CKA_EC_PARAMS);
      long type = attrs.keyType();
      byte[] point = unwrapPoint(attrs.ecPoint(), type == PKCS11Constants.CKK_EC_EDWARDS ? 32 : 65);
      if (type == PKCS11Constants.CKK_EC_EDWARDS) {
        if (point.length != 32)
          throw new KeyFileException("the key \"" + object + "\" is an EdDSA key but not Ed25519");
        byte[] spki = LinkKeys.ed25519Spki(point);
        return signer(LinkKeys.Scheme.ED25519, spki, session, priv, object);
      }
      if (type == PKCS11Constants.CKK_EC) {
        ASN1Primitive params =
            ASN1Primitive.fromByteArray(
                (byte[]) attrs.getAttribute(PKCS11Constants.CKA_EC_PARAMS).getValue());
        boolean p256 =
            params instanceof ASN1ObjectIdentifier oid && oid.equals(SECObjectIdentifiers.secp256r1)
                || params instanceof ASN1PrintableString ps && ps.getString().equals("prime256v1");
        if (!p256)
          throw new KeyFileException("the key \"" + object + "\" is an EC key but not on P-256");
        byte[] spki =
            new SubjectPublicKeyInfo(
                    new AlgorithmIdentifier(
                        X9ObjectIdentifiers.id_ecPublicKey, SECObjectIdentifiers.secp256r1),
                    point)
                .getEncoded("DER");
        return signer(LinkKeys.Scheme.ECDSA_P256_SHA256, spki, session, priv, object);
      }
      throw new KeyFileException("the key \"" + object + "\" is neither Ed25519 nor ECDSA P-256");
    } catch (TokenException | IOException e) {
      throw new KeyFileException("PKCS#11 (" + modulePath + "): " + e.getMessage(), e);
    } finally {
      Arrays.fill(pin, '\0');
    }
  }

  /**
   * CKA_EC_POINT is a DER OCTET STRING holding the point (PKCS#11 2.40), but some modules (and some
   * wrappers) give the point bare: take either, by its length.
   */
  private static byte[] unwrapPoint(byte[] v, int size) throws KeyFileException {
    if (v.length == size) return v;
    if (v.length == size + 2 && v[0] == 0x04 && (v[1] & 0xff) == size)
      return Arrays.copyOfRange(v, 2, v.length);
    try {
      byte[] inner = ASN1OctetString.getInstance(v).getOctets();
      if (inner.length == size) return inner;
    } catch (IllegalArgumentException notDer) {
      // fall through
    }
    throw new KeyFileException(
        "the token's public key point is " + v.length + " bytes; expected " + size);
  }

  /**
   * The wrapper's own log lines (its licence notice at the first load among them) go to
   * java.util.logging at FINE, not to standard output, which belongs to the command's answer. The
   * notice's acknowledgment is in the README, as the IAIK licence asks.
   */
  private static final Logger WRAPPER_LOG = Logger.getLogger("dev.custody.keys.pkcs11");

  private static void quietWrapper() {
    StaticLogger.setLogger(
        new org.xipki.pkcs11.wrapper.Logger() {
          private void log(Level l, String format, Object... args) {
            if (!WRAPPER_LOG.isLoggable(l)) return;
            String m = format;
            for (Object a : args)
              m = m.replaceFirst("\\{}", Matcher.quoteReplacement(String.valueOf(a)));
            WRAPPER_LOG.log(l, m);
          }

          @Override
          public void info(String f, Object... a) {
            log(Level.FINE, f, a);
          }

          @Override
          public void warn(String f, Object... a) {
            log(Level.WARNING, f, a);
          }

          @Override
          public void error(String f, Object... a) {
            log(Level.SEVERE, f, a);
          }

          @Override
          public void debug(String f, Object... a) {
            log(Level.FINER, f, a);
          }

          @Override
          public void trace(String f, Object... a) {
            log(Level.FINEST, f, a);
          }

          @Override
          public boolean isDebugEnabled() {
            return WRAPPER_LOG.isLoggable(Level.FINER);
          }

          @Override
          public boolean isInfoEnabled() {
            return WRAPPER_LOG.isLoggable(Level.FINE);
          }

          @Override
          public boolean isWarnEnabled() {
            return WRAPPER_LOG.isLoggable(Level.WARNING);
          }

          @Override
          public boolean isTraceEnabled() {
            return WRAPPER_LOG.isLoggable(Level.FINEST);
          }
        });
  }

  private static PKCS11Module module(String path) throws IOException, TokenException {
    quietWrapper();
    try {
      return MODULES.computeIfAbsent(
          path,
          p -> {
            try {
              PKCS11Module m = PKCS11Module.getInstance(p);
              m.initialize();
              return m;
            } catch (IOException | TokenException e) {
              throw new IllegalStateException(e);
            }
          });
    } catch (IllegalStateException e) {
      if (e.getCause() instanceof IOException io) throw io;
      if (e.getCause() instanceof TokenException t) throw t;
      throw e;
    }
  }

  private static long find(
      Session session, AttributeVector template, String label, byte[] id, String token)
      throws KeyFileException, PKCS11Exception {
    template.attr(PKCS11Constants.CKA_LABEL, label);
    if (id != null) template.attr(PKCS11Constants.CKA_ID, id);
    long[] found = session.findObjectsSingle(template, 2);
    if (found.length == 0)
      throw new KeyFileException(
          "no key labelled \"" + label + "\" in the token \"" + token + "\"");
    if (found.length > 1)
      throw new KeyFileException(
          "two keys are labelled \"" + label + "\" in \"" + token + "\"; add ;id=…");
    return found[0];
  }

  private static LinkKeys.Signer signer(
      LinkKeys.Scheme scheme, byte[] spki, Session session, long key, String label) {
    return new LinkKeys.Signer() {
      @Override
      public LinkKeys.Scheme scheme() {
        return scheme;
      }

      @Override
      public byte[] publicKey() {
        return spki.clone();
      }

      /** One operation at a time per session, as PKCS#11 requires. */
      @Override
      public synchronized byte[] sign(byte[] message) {
        try {
          if (scheme == LinkKeys.Scheme.ED25519)
            return session.signSingle(new Mechanism(PKCS11Constants.CKM_EDDSA), key, message);
          byte[] rs =
              session.signSingle(
                  new Mechanism(PKCS11Constants.CKM_ECDSA),
                  key,
                  MessageDigest.getInstance("SHA-256").digest(message));
          BigInteger n = SECNamedCurves.getByName("secp256r1").getN();
          BigInteger r = new BigInteger(1, Arrays.copyOfRange(rs, 0, 32));
          BigInteger s = new BigInteger(1, Arrays.copyOfRange(rs, 32, 64));
          // Low S, as verifiers require: a token may return either of (r, s) and (r, n - s).
          if (s.compareTo(n.shiftRight(1)) > 0) s = n.subtract(s);
          return StandardDSAEncoding.INSTANCE.encode(n, r, s);
        } catch (PKCS11Exception | IOException | NoSuchAlgorithmException e) {
          throw new IllegalStateException(
              "the token could not sign with \"" + label + "\": " + e.getMessage(), e);
        }
      }

      @Override
      public String privateKeyPem() {
        throw new UnsupportedOperationException("the key \"" + label + "\" stays in its token");
      }
    };
  }
}
