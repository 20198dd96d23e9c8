package dev.custody.server.cluster;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who a certificate of the cluster's CA names: a node (by its node id) or the operator. Read from
 * the subject, which must be exactly {@code CN=<name>,OU=custody-node} or {@code
 * CN=operator,OU=custody-operator} ({@link ClusterCertificates} writes them so); anything else
 * names nobody.
 *
 * @param name the node id, or {@value #OPERATOR_NAME}
 * @param isNode true for a node, false for the operator
 */
public record RaftIdentity(String name, boolean isNode) {
  static final String OPERATOR_NAME = "operator";
  private static final String NODE_UNIT = "custody-node";
  private static final String OPERATOR_UNIT = "custody-operator";

  static RaftIdentity node(String id) {
    return new RaftIdentity(id, true);
  }

  static RaftIdentity operator() {
    return new RaftIdentity(OPERATOR_NAME, false);
  }

  /** The subject a certificate for this identity carries. */
  String subject() {
    return "CN=" + name + ",OU=" + (isNode ? NODE_UNIT : OPERATOR_UNIT);
  }

  /**
   * The identity a certificate names, if it names one. Checks no signature: the trust manager does.
   */
  static Optional<RaftIdentity> of(Certificate c) {
    if (!(c instanceof X509Certificate x)) return Optional.empty();
    String cn = null;
    String ou = null;
    try {
      for (Rdn r : new LdapName(x.getSubjectX500Principal().getName()).getRdns()) {
        if (r.size() != 1) return Optional.empty();
        String v = String.valueOf(r.getValue());
        switch (r.getType().toUpperCase(Locale.ROOT)) {
          case "CN" -> {
            if (cn != null) return Optional.empty();
            cn = v;
          }
          case "OU" -> {
            if (ou != null) return Optional.empty();
            ou = v;
          }
          default -> {
            return Optional.empty();
          }
        }
      }
    } catch (InvalidNameException e) {
      return Optional.empty();
    }
    if (cn == null || ou == null) return Optional.empty();
    if (ou.equals(NODE_UNIT) && Peers.ID.matcher(cn).matches() && !cn.equals(OPERATOR_NAME))
      return Optional.of(node(cn));
    if (ou.equals(OPERATOR_UNIT) && cn.equals(OPERATOR_NAME)) return Optional.of(operator());
    return Optional.empty();
  }

  @Override
  public String toString() {
    return isNode ? "node " + name : "the operator";
  }
}
