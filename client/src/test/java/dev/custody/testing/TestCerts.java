package dev.custody.testing;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Real X.509 certificates for TLS tests, written as PEM files: a CA, a server certificate for
 * 127.0.0.1 and localhost, and client certificates, all ECDSA P-256.
 */
public final class TestCerts {
  /** A certificate file and its PKCS#8 private key file. */
  public record Pem(Path cert, Path key) {}

  private final Path dir;
  private final KeyPair caKey;
  private final X500Name caName;
  public final Path caCert;
  private long serial = 1;

  public TestCerts(Path dir, String caName) throws Exception {
    this.dir = dir;
    this.caKey = keyPair();
    this.caName = new X500Name("CN=" + caName);
    X509CertificateHolder ca =
        builder(this.caName, this.caName, caKey)
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
            .build(signer());
    this.caCert = write(caName + "-ca.pem", "CERTIFICATE", ca.getEncoded());
  }

  public Pem server(String name) throws Exception {
    KeyPair k = keyPair();
    X509CertificateHolder c =
        builder(caName, new X500Name("CN=" + name), k)
            .addExtension(
                Extension.subjectAlternativeName,
                false,
                new GeneralNames(
                    new GeneralName[] {
                      new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                      new GeneralName(GeneralName.dNSName, "localhost")
                    }))
            .build(signer());
    return pem(name, c, k);
  }

  public Pem client(String name) throws Exception {
    KeyPair k = keyPair();
    return pem(name, builder(caName, new X500Name("CN=" + name), k).build(signer()), k);
  }

  private Pem pem(String name, X509CertificateHolder c, KeyPair k) throws IOException {
    return new Pem(
        write(name + ".pem", "CERTIFICATE", c.getEncoded()),
        write(name + ".key", "PRIVATE KEY", k.getPrivate().getEncoded()));
  }

  private JcaX509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair k) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(serial++),
        Date.from(now.minus(1, ChronoUnit.HOURS)),
        Date.from(now.plus(1, ChronoUnit.DAYS)),
        subject,
        k.getPublic());
  }

  private ContentSigner signer() throws Exception {
    return new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate());
  }

  private static KeyPair keyPair() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private Path write(String file, String type, byte[] der) throws IOException {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    Path p = dir.resolve(file);
    Files.writeString(
        p, "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n");
    return p;
  }
}
