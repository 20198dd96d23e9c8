package dev.custody.server.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.protocol.GroupInfoReply;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.util.TimeDuration;

/**
 * A cluster's membership as Raft holds it, read and changed through Ratis' admin API ({@code
 * setConfiguration}: joint consensus, so the log stays available while it changes). Used by the
 * {@code custody-server cluster} command and by a starting node's wiped-storage check.
 */
public final class Membership implements AutoCloseable {
  /** One member as a server reports it. */
  public record Member(String id, String address, boolean leader, long commitIndex) {}

  private final RaftClient client;
  private final RaftGroup contacts;
  private final AtomicReference<List<RaftPeer>> seen = new AtomicReference<>(List.of());

  /**
   * @param contacts any members of the running cluster (all are tried)
   * @param tls the operator's (or, at a node's start, the node's) certificate; empty for a cluster
   *     that runs in plaintext
   */
  public Membership(String origin, Peers contacts, Optional<RaftTls> tls) {
    this.contacts = ClusterNode.group(ClusterNode.groupOf(origin), contacts);
    RaftProperties p = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(3, TimeUnit.SECONDS));
    // A server dialled must present the certificate of the node at that address: as the contacts
    // name them, or as the group last reported (the leader may be a member not named here).
    RaftPeerTrust.Addresses book =
        (host, port) -> {
          String at = Peers.format(host, port);
          for (RaftPeer m : seen.get())
            if (at.equals(m.getAddress())) return Optional.of(m.getId().toString());
          for (String id : contacts.members().keySet())
            if (at.equals(contacts.address(id))) return Optional.of(id);
          return Optional.empty();
        };
    this.client =
        RaftClient.newBuilder()
            .setProperties(p)
            .setParameters(tls.map(t -> t.parameters(book)).orElseGet(Parameters::new))
            .setRaftGroup(this.contacts)
            .setRetryPolicy(
                RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                    5, TimeDuration.valueOf(500, TimeUnit.MILLISECONDS)))
            .build();
  }

  /** The first answer of any contact: the group as it stands (members, leader, commit indices). */
  public Optional<GroupInfoReply> info() {
    for (RaftPeer p : contacts.getPeers()) {
      try {
        GroupInfoReply r = client.getGroupManagementApi(p.getId()).info(contacts.getGroupId());
        if (r.isSuccess()) {
          seen.set(List.copyOf(r.getGroup().getPeers()));
          return Optional.of(r);
        }
      } catch (IOException | RuntimeException unreachable) {
        // try the next
      }
    }
    return Optional.empty();
  }

  /** The members, from the first contact that answers. */
  public List<Member> members() throws IOException {
    GroupInfoReply r =
        info().orElseThrow(() -> new IOException("no member of " + describe() + " answered"));
    String leader =
        r.getRoleInfoProto().hasLeaderInfo()
                || r.getRoleInfoProto().getRole().name().equals("LEADER")
            ? r.getServerId().toString()
            : r.getRoleInfoProto().getFollowerInfo().getLeaderInfo().getId().getId().toStringUtf8();
    List<Member> out = new ArrayList<>();
    for (RaftPeer p : r.getGroup().getPeers()) {
      long commit =
          r.getCommitInfos().stream()
              .filter(c -> c.getServer().getId().toStringUtf8().equals(p.getId().toString()))
              .mapToLong(CommitInfoProto::getCommitIndex)
              .findFirst()
              .orElse(-1);
      out.add(
          new Member(
              p.getId().toString(), p.getAddress(), p.getId().toString().equals(leader), commit));
    }
    return out;
  }

  /**
   * Adds a member (started with --join, which waits for this); the leader brings it up to date
   * first.
   */
  public void add(String id, String address) throws IOException {
    List<RaftPeer> now = current();
    if (now.stream().anyMatch(p -> p.getId().toString().equals(id))) {
      throw new IOException(id + " is already a member");
    }
    now.add(RaftPeer.newBuilder().setId(id).setAddress(address).build());
    check(client.admin().setConfiguration(now), "adding " + id);
  }

  /** Removes a member; the cluster then needs a majority of those that remain. */
  public void remove(String id) throws IOException {
    List<RaftPeer> now = current();
    if (!now.removeIf(p -> p.getId().toString().equals(id)))
      throw new IOException(id + " is not a member");
    if (now.isEmpty()) throw new IOException("refusing to remove the last member");
    check(client.admin().setConfiguration(now), "removing " + id);
  }

  private List<RaftPeer> current() throws IOException {
    GroupInfoReply r =
        info().orElseThrow(() -> new IOException("no member of " + describe() + " answered"));
    return new ArrayList<>(r.getGroup().getPeers());
  }

  private static void check(RaftClientReply r, String what) throws IOException {
    if (!r.isSuccess()) throw new IOException(what + " failed: " + r.getException());
  }

  private String describe() {
    return "the cluster " + contacts.getGroupId();
  }

  /**
   * Whether the running cluster (any contact but {@code self}) has {@code self} as a member and a
   * log with entries.
   */
  static boolean listsWithEntries(String origin, Peers peers, String self, Optional<RaftTls> tls) {
    List<String> others = new ArrayList<>(peers.members().keySet());
    others.remove(self);
    if (others.isEmpty()) return false;
    Map<String, InetSocketAddress> m = new LinkedHashMap<>();
    for (String o : others) m.put(o, peers.members().get(o));
    try (Membership ms = new Membership(origin, new Peers(m), tls)) {
      Optional<GroupInfoReply> r = ms.info();
      if (r.isEmpty()) return false;
      boolean member =
          r.get().getGroup().getPeers().stream()
              .anyMatch(p -> p.getId().equals(RaftPeerId.valueOf(self)));
      boolean entries = r.get().getCommitInfos().stream().anyMatch(c -> c.getCommitIndex() > 0);
      return member && entries;
    }
  }

  @Override
  public void close() {
    try {
      client.close();
    } catch (IOException ignored) {
      // closing
    }
  }
}
