package dev.custody.server;

import dev.custody.server.cluster.Membership;
import dev.custody.server.cluster.Peers;
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
      ClusterCommand.Remove.class
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

    Membership open() {
      return new Membership(origin, Peers.parse(peers));
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
