package dev.custody.server.cluster;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes a cluster's certificates ({@code custody-server cluster certs}): a CA of its own, one
 * certificate per node bound to its node id, and one for the operator. ECDSA P-256 throughout, the
 * curve every TLS stack here speaks.
 *
 * <p>The identity is in the subject ({@link RaftIdentity}): {@code CN=<node id>, OU=custody-node}
 * or {@code CN=operator, OU=custody-operator}. No host name is bound: a node is reached at the
 * address its configuration gives for its id, and the certificate must name that id.
 */
public final class ClusterCertificates {
  /** A node's or the operator's certificate lasts this long; the CA ten times as long. */
  public static final Duration VALIDITY = Duration.ofDays(2 * 365);

  private ClusterCertificates() {}

  /**
   * Writes {@code ca.pem}, {@code ca.key}, {@code <node>.pem} and {@code <node>.key} for each node,
   * {@code operator.pem} and {@code operator.key} into {@code out} (created if missing). Private
   * keys are written owner-only (0600). Refuses to overwrite any file: a CA replaced by mistake
   * would split the cluster.
   *
   * @param nodes node ids, each a valid {@link Peers} id, no id twice
   * @return the files written
   */
  public static List<Path> write(Path out, List<String> nodes)
      throws IOException, GeneralSecurityException {
    List<String> names = new ArrayList<>(List.of("ca"));
    names.addAll(nodes);
    names.add(RaftIdentity.OPERATOR_NAME);
    prepare(out, nodes, names);
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now();
    KeyPair caKey = keyPair();
    X500Name caName = new X500Name("CN=custody cluster CA " + Long.toHexString(random.nextLong()));
    X509CertificateHolder ca =
        builder(caName, caName, caKey, now, VALIDITY.multipliedBy(10), random)
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
            .addExtension(
                Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
            .build(signer(caKey));
    List<Path> written = new ArrayList<>();
    written.add(writePem(out.resolve("ca.pem"), "CERTIFICATE", ca.getEncoded(), false));
    written.add(
        writePem(out.resolve("ca.key"), "PRIVATE KEY", caKey.getPrivate().getEncoded(), true));
    for (String n : nodes) {
      written.addAll(leaf(out, n, RaftIdentity.node(n), caName, caKey, now, random));
    }
    written.addAll(
        leaf(out, RaftIdentity.OPERATOR_NAME, RaftIdentity.operator(), caName, caKey, now, random));
    return written;
  }

  /**
   * Writes {@code <node>.pem} and {@code <node>.key} for each of {@code nodes} into {@code out},
   * issued by an existing CA: to add a member to a running cluster.
   *
   * @param caCert the cluster's {@code ca.pem}
   * @param caKey its {@code ca.key}
   */
  public static List<Path> issue(Path out, List<String> nodes, Path caCert, Path caKey)
      throws IOException, GeneralSecurityException {
    prepare(out, nodes, nodes);
    X509Certificate ca;
    try (var in = Files.newInputStream(caCert)) {
      ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyPair caPair = new KeyPair(ca.getPublicKey(), RaftTls.privateKey(caKey));
    SecureRandom random = new SecureRandom();
    X500Name caName = X500Name.getInstance(ca.getSubjectX500Principal().getEncoded());
    List<Path> written = new ArrayList<>();
    for (String n : nodes) {
      written.addAll(leaf(out, n, RaftIdentity.node(n), caName, caPair, Instant.now(), random));
    }
    return written;
  }

  /** Checks the node ids and that none of the files to write exists; creates {@code out}. */
  private static void prepare(Path out, List<String> nodes, List<String> files) throws IOException {
    if (nodes.isEmpty()) throw new IllegalArgumentException("--nodes names no node");
    for (String n : nodes) {
      if (!Peers.ID.matcher(n).matches())
        throw new IllegalArgumentException(
            "node id '" + n + "' must be 1 to 32 of A-Z a-z 0-9 _ -");
      if (RaftIdentity.OPERATOR_NAME.equals(n) || "ca".equals(n))
        throw new IllegalArgumentException("'" + n + "' names a file of its own, not a node");
    }
    if (nodes.stream().distinct().count() != nodes.size())
      throw new IllegalArgumentException("a node id appears twice in --nodes");
    Files.createDirectories(out);
    for (String n : files) {
      for (String ext : List.of(".pem", ".key")) {
        if (Files.exists(out.resolve(n + ext)))
          throw new IllegalArgumentException(
              out.resolve(n + ext) + " exists already; refusing to overwrite a cluster's keys");
      }
    }
  }

  private static List<Path> leaf(
      Path out,
      String file,
      RaftIdentity who,
      X500Name caName,
      KeyPair caKey,
      Instant now,
      SecureRandom random)
      throws IOException, GeneralSecurityException {
    KeyPair k = keyPair();
    KeyPurposeId[] purposes =
        who.isNode()
            ? new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}
            : new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth};
    X509CertificateHolder c =
        builder(caName, new X500Name(who.subject()), k, now, VALIDITY, random)
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
            .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
            .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes))
            .build(signer(caKey));
    return List.of(
        writePem(out.resolve(file + ".pem"), "CERTIFICATE", c.getEncoded(), false),
        writePem(out.resolve(file + ".key"), "PRIVATE KEY", k.getPrivate().getEncoded(), true));
  }

  private static JcaX509v3CertificateBuilder builder(
      X500Name issuer,
      X500Name subject,
      KeyPair k,
      Instant now,
      Duration validity,
      SecureRandom random) {
    return new JcaX509v3CertificateBuilder(
        issuer,
        new BigInteger(127, random).add(BigInteger.ONE),
        // An hour back: a peer whose clock is a little behind still accepts it.
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(validity)),
        subject,
        k.getPublic());
  }

  private static ContentSigner signer(KeyPair k) throws GeneralSecurityException {
    try {
      return new JcaContentSignerBuilder("SHA256withECDSA").build(k.getPrivate());
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static KeyPair keyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static Path writePem(Path p, String type, byte[] der, boolean secret) throws IOException {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    byte[] text =
        ("-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n")
            .getBytes(StandardCharsets.US_ASCII);
    if (secret) {
      // Created owner-only, never readable by others even for an instant.
      Files.createFile(
          p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.write(p, text, StandardOpenOption.TRUNCATE_EXISTING);
    } else {
      Files.write(p, text, StandardOpenOption.CREATE_NEW);
    }
    return p;
  }
}
