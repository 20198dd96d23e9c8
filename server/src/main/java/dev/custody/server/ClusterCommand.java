package dev.custody.server;

import dev.custody.server.cluster.ClusterCertificates;
import dev.custody.server.cluster.Membership;
import dev.custody.server.cluster.Peers;
import dev.custody.server.cluster.RaftTls;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code custody-server cluster show|add|remove}: a running cluster's membership, read and changed
 * through Raft.
 */
@Command(
    name = "cluster",
    mixinStandardHelpOptions = true,
    description =
        "Show or change a running cluster's members (Raft reconfiguration: writes go on meanwhile).",
    subcommands = {
      ClusterCommand.Show.class,
      ClusterCommand.Add.class,
      ClusterCommand.Remove.class,
      ClusterCommand.Certs.class
    })
final class ClusterCommand {
  /**
   * How to reach the cluster: the log's origin (it names the Raft group) and any of its members.
   */
  static class Target {
    @Option(
        names = "--origin",
        required = true,
        description = "The log's origin, as its nodes were started with")
    String origin;

    @Option(
        names = "--peers",
        required = true,
        description =
            "Members to ask, ID=HOST:PORT,... (Raft addresses); " + "any one that answers will do")
    String peers;

    @Option(
        names = "--tls-cert",
        paramLabel = "FILE",
        description = "The operator's certificate (operator.pem from custody-server cluster certs)")
    Path tlsCert;

    @Option(
        names = "--tls-key",
        paramLabel = "FILE",
        description = "The operator's key (operator.key)")
    Path tlsKey;

    @Option(names = "--tls-ca", paramLabel = "FILE", description = "The cluster's CA (ca.pem)")
    Path tlsCa;

    Membership open() throws IOException {
      return new Membership(origin, Peers.parse(peers), tls());
    }

    private Optional<RaftTls> tls() throws IOException {
      int given = (tlsCert != null ? 1 : 0) + (tlsKey != null ? 1 : 0) + (tlsCa != null ? 1 : 0);
      if (given == 0) return Optional.empty(); // a cluster run with --raft-plaintext
      if (given != 3)
        throw new IllegalArgumentException("--tls-cert, --tls-key and --tls-ca go together");
      return Optional.of(RaftTls.load(tlsCert, tlsKey, tlsCa));
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Print the members, the leader and each one's commit index.")
  static final class Show implements Callable<Integer> {
    @picocli.CommandLine.Mixin Target target;

    @Override
    public Integer call() throws Exception {
      try (Membership m = target.open()) {
        for (Membership.Member x : m.members()) {
          System.out.printf(
              "%-8s %-24s %-9s commit %d%n",
              x.id(), x.address(), x.leader() ? "leader" : "follower", x.commitIndex());
        }
      }
      return 0;
    }
  }

  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      description =
          "Add a member: first start it with --join (and an empty --data-dir), then run this.")
  static final class Add implements Callable<Integer> {
    @picocli.CommandLine.Mixin Target target;

    @Parameters(index = "0", description = "The new member: ID=HOST:PORT (its Raft address)")
    String member;

    @Override
    public Integer call() throws Exception {
      Peers p = Peers.parse(member);
      String id = p.members().keySet().iterator().next();
      try (Membership m = target.open()) {
        m.add(id, p.address(id));
      }
      System.out.println(
          "added " + member + "; start the other nodes with it in --peers from now on");
      return 0;
    }
  }

  @Command(
      name = "certs",
      mixinStandardHelpOptions = true,
      description = {
        "Make a cluster's certificates: a CA of its own (ca.pem, ca.key), a certificate and key for "
            + "each node bound to its node id (<node>.pem, <node>.key) and one for the operator "
            + "(operator.pem, operator.key), all ECDSA P-256; keys are written owner-only (0600).",
        "Give each node its own pair and ca.pem (--raft-tls-cert, --raft-tls-key, --raft-tls-ca); "
            + "keep ca.key offline: it is needed only to add a node."
      })
  static final class Certs implements Callable<Integer> {
    @Option(
        names = "--out",
        required = true,
        paramLabel = "DIR",
        description = "Where to write them")
    Path out;

    @Option(
        names = "--nodes",
        required = true,
        split = ",",
        paramLabel = "ID",
        description = "The node ids, as in --peers: n1,n2,n3")
    List<String> nodes;

    @Option(
        names = "--ca-cert",
        paramLabel = "FILE",
        description =
            "Issue the nodes' certificates from this existing CA (ca.pem; with --ca-key) instead "
                + "of making a new cluster: to add a member")
    Path caCert;

    @Option(names = "--ca-key", paramLabel = "FILE", description = "The existing CA's key (ca.key)")
    Path caKey;

    @Override
    public Integer call() throws Exception {
      if ((caCert == null) != (caKey == null))
        throw new IllegalArgumentException("--ca-cert and --ca-key go together");
      List<Path> written =
          caCert == null
              ? ClusterCertificates.write(out, nodes)
              : ClusterCertificates.issue(out, nodes, caCert, caKey);
      for (Path p : written) System.out.println("wrote " + p);
      return 0;
    }
  }

  @Command(
      name = "remove",
      mixinStandardHelpOptions = true,
      description =
          "Remove a member (to retire it, or before adding back one that lost its storage).")
  static final class Remove implements Callable<Integer> {
    @picocli.CommandLine.Mixin Target target;

    @Parameters(index = "0", description = "The member's id")
    String id;

    @Override
    public Integer call() throws Exception {
      try (Membership m = target.open()) {
        m.remove(id);
      }
      System.out.println("removed " + id);
      return 0;
    }
  }
}
