package dev.custody.server.cluster;

import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Whom a node (or the operator's command) trusts on the Raft port: certificates issued by the
 * cluster's CA and no other, naming a node or the operator ({@link RaftIdentity}).
 *
 * <ul>
 *   <li>As a server, it accepts a client certificate of a node or of the operator; which calls each
 *       may make is {@link RaftCallAuthorizer}'s to decide.
 *   <li>As a client, it accepts a server only if its certificate names the node that the
 *       configuration places at the address dialled ({@link Addresses}): a node that presents
 *       another node's certificate, or a stranger at a member's address, is refused; at an address
 *       no member has, only a node that is not a member (one being added). Host names are not
 *       checked: the node id is the identity, and the configuration binds it to an address.
 * </ul>
 */
final class RaftPeerTrust extends X509ExtendedTrustManager {
  /** Which node the configuration places at an address. */
  @FunctionalInterface
  interface Addresses {
    /**
     * @param host as dialled (a name or a literal address, without brackets)
     */
    Optional<String> nodeAt(String host, int port);

    /**
     * Whether {@code id} is a member now. A server at an address no member has may be a node being
     * added (Ratis brings a new member up to date before it joins the configuration, at the address
     * the operator's authenticated change gave): it is accepted only under an id that is not a
     * member's, so no member can answer at an address that is not its own. By default every id
     * counts as a member: an unknown address is refused.
     */
    default boolean isMember(String id) {
      return true;
    }
  }

  private final X509TrustManager pkix;
  private final X509Certificate ca;
  private final Addresses addresses;

  RaftPeerTrust(X509Certificate ca, Addresses addresses) throws GeneralSecurityException {
    KeyStore anchors = KeyStore.getInstance("PKCS12");
    try {
      anchors.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    anchors.setCertificateEntry("cluster-ca", ca);
    TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
    f.init(anchors);
    X509TrustManager found = null;
    for (var tm : f.getTrustManagers()) if (tm instanceof X509TrustManager x) found = x;
    if (found == null) throw new GeneralSecurityException("no X.509 trust manager");
    this.pkix = found;
    this.ca = ca;
    this.addresses = addresses;
  }

  private static RaftIdentity named(X509Certificate[] chain) throws CertificateException {
    return RaftIdentity.of(chain[0])
        .orElseThrow(
            () ->
                new CertificateException(
                    "the certificate of "
                        + chain[0].getSubjectX500Principal().getName()
                        + " names neither a node nor the operator"));
  }

  private void client(X509Certificate[] chain, String authType) throws CertificateException {
    if (chain == null || chain.length == 0) throw new CertificateException("no certificate");
    // The two-argument check validates the chain to the CA for a TLS client (extended key usage
    // included) and does no host name check.
    pkix.checkClientTrusted(chain, authType);
    named(chain);
  }

  private void server(X509Certificate[] chain, String authType, String host, int port)
      throws CertificateException {
    if (chain == null || chain.length == 0) throw new CertificateException("no certificate");
    pkix.checkServerTrusted(chain, authType);
    RaftIdentity who = named(chain);
    if (!who.isNode()) throw new CertificateException("the operator's certificate serves no node");
    if (host == null) throw new CertificateException("no address to bind the peer's identity to");
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    Optional<String> expected = addresses.nodeAt(h, port);
    if (expected.isEmpty()) {
      if (addresses.isMember(who.name())) {
        throw new CertificateException(
            "no member of the cluster is configured at "
                + h
                + ":"
                + port
                + ", and "
                + who
                + " is a member elsewhere");
      }
      return; // a node being added, at the address the operator gave
    }
    if (!expected.get().equals(who.name())) {
      throw new CertificateException(
          h
              + ":"
              + port
              + " is "
              + expected.get()
              + "'s address, but it presented the certificate of "
              + who);
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    client(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    client(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    client(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    throw new CertificateException("a Raft peer is checked against the address dialled");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    server(
        chain,
        authType,
        socket == null ? null : socket.getInetAddress().getHostAddress(),
        socket == null ? -1 : socket.getPort());
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    server(
        chain,
        authType,
        engine == null ? null : engine.getPeerHost(),
        engine == null ? -1 : engine.getPeerPort());
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[] {ca};
  }
}
