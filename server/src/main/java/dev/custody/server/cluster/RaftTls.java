package dev.custody.server.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;

/**
 * Mutual TLS on a cluster's Raft port, for a node or for the operator's command: this party's
 * certificate and key, and the cluster's CA (from PEM files: {@code --raft-tls-cert}, {@code
 * --raft-tls-key}, {@code --raft-tls-ca}). Every Ratis service on the port (server, client, admin)
 * requires a certificate of the CA ({@link RaftPeerTrust}), and each call is allowed by what the
 * certificate names ({@link RaftCallAuthorizer}).
 */
public final class RaftTls {
  private final X509Certificate ca;
  private final X509Certificate[] chain;
  private final PrivateKey key;
  private final RaftIdentity self;

  private RaftTls(X509Certificate ca, X509Certificate[] chain, PrivateKey key, RaftIdentity self) {
    this.ca = ca;
    this.chain = chain;
    this.key = key;
    this.self = self;
  }

  /**
   * Reads the three files and checks that they belong together: the certificate is issued by the CA
   * and names a node or the operator, and the key is its key.
   */
  public static RaftTls load(Path cert, Path key, Path ca) throws IOException {
    try {
      List<X509Certificate> cas = certificates(ca);
      List<X509Certificate> mine = certificates(cert);
      if (cas.size() != 1)
        throw new IllegalArgumentException(
            ca + " must hold exactly one certificate: the cluster's CA");
      if (mine.isEmpty()) throw new IllegalArgumentException(cert + " holds no certificate");
      X509Certificate leaf = mine.get(0);
      try {
        leaf.verify(cas.get(0).getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new IllegalArgumentException(cert + " is not issued by the CA in " + ca);
      }
      RaftIdentity who =
          RaftIdentity.of(leaf)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          cert
                              + " names neither a node nor the operator (make the cluster's "
                              + "certificates with custody-server cluster certs)"));
      PrivateKey k = privateKey(key);
      RaftTls t = new RaftTls(cas.get(0), mine.toArray(X509Certificate[]::new), k, who);
      t.keyManager(); // the key must match the certificate; fail at start, not at the first peer
      return t;
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot use the Raft TLS files: " + e.getMessage(), e);
    }
  }

  /** Whom this party's certificate names. */
  public RaftIdentity identity() {
    return self;
  }

  /**
   * Ratis' parameters for a server or client that speaks TLS with this party's certificate and
   * checks every peer and call as above.
   *
   * @param addresses which node is configured at an address: a server dialled there must present
   *     that node's certificate
   */
  Parameters parameters(RaftPeerTrust.Addresses addresses) {
    try {
      GrpcTlsConfig conf = new GrpcTlsConfig(keyManager(), new RaftPeerTrust(ca, addresses), true);
      Parameters p = new Parameters();
      GrpcConfigKeys.TLS.setConf(p, conf);
      GrpcConfigKeys.Server.setServicesCustomizer(
          p, (builder, types) -> builder.intercept(new RaftCallAuthorizer()));
      return p;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS on the Raft port: " + e.getMessage(), e);
    }
  }

  /** The cluster's CA. */
  X509Certificate ca() {
    return ca;
  }

  /** This party's certificate and key, as TLS presents them. */
  KeyManager keyManager() throws GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    char[] none = new char[0];
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    requireCertificateKey();
    ks.setKeyEntry("raft", key, none, chain);
    KeyManagerFactory f = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    f.init(ks, none);
    return f.getKeyManagers()[0];
  }

  /** Signs and verifies a probe: the portable way to tie a private key to a certificate. */
  private void requireCertificateKey() throws GeneralSecurityException {
    String alg =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> key.getAlgorithm(); // Ed25519, Ed448
        };
    byte[] probe = "custody raft tls key check".getBytes(StandardCharsets.US_ASCII);
    Signature s = Signature.getInstance(alg);
    s.initSign(key);
    s.update(probe);
    byte[] sig = s.sign();
    Signature v = Signature.getInstance(alg);
    v.initVerify(chain[0].getPublicKey());
    v.update(probe);
    if (!v.verify(sig)) throw new GeneralSecurityException("the key is not the certificate's key");
  }

  private static List<X509Certificate> certificates(Path p)
      throws IOException, GeneralSecurityException {
    List<X509Certificate> out = new ArrayList<>();
    try (InputStream in = Files.newInputStream(p)) {
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in))
        out.add((X509Certificate) c);
    }
    return out;
  }

  private static final Pattern PKCS8 =
      Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  static PrivateKey privateKey(Path p) throws IOException, GeneralSecurityException {
    Matcher m = PKCS8.matcher(Files.readString(p, StandardCharsets.US_ASCII));
    if (!m.find())
      throw new IllegalArgumentException(p + " is not an unencrypted PKCS#8 PEM private key");
    byte[] der = Base64.getMimeDecoder().decode(m.group(1));
    for (String alg : List.of("EC", "Ed25519", "RSA")) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (InvalidKeySpecException notThisOne) {
        // try the next
      }
    }
    throw new IllegalArgumentException(
        p + " holds a key of no kind this node reads (EC, Ed25519, RSA)");
  }
}
