package dev.custody.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.server.sequencer.Admitted;
import dev.custody.server.sequencer.Sequenced;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.ratis.proto.RaftProtos.RaftGroupIdProto;
import org.apache.ratis.proto.RaftProtos.RaftRpcRequestProto;
import org.apache.ratis.proto.RaftProtos.RequestVoteRequestProto;
import org.apache.ratis.proto.grpc.RaftServerProtocolServiceGrpc;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException;
import org.apache.ratis.thirdparty.io.grpc.netty.GrpcSslContexts;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.SslContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Raft port trusts only the cluster's own certificates: three nodes over mutual TLS on loopback
 * keep the log, while a stranger (no certificate, or one from another CA), a node speaking in
 * another node's name, a node certificate at another node's address, and a node certificate used
 * for the operator's changes are each refused; and the port listens on the node's own address only.
 */
class RaftTlsTest {
  private static final Logger RATIS = Logger.getLogger("org.apache.ratis");

  static {
    RATIS.setLevel(Level.SEVERE);
  }

  @TempDir Path dir;
  private Path certs;
  private LocalCluster cluster;
  private Peers peers;
  private Map<String, ClusterNode> nodes;

  @BeforeEach
  void makeCertificates() throws Exception {
    certs = dir.resolve("certs");
    ClusterCertificates.write(certs, List.of("n1", "n2", "n3"));
    cluster = new LocalCluster(dir);
    peers = cluster.peers;
    nodes = cluster.nodes;
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  private RaftTls tls(Path from, String who) throws IOException {
    return RaftTls.load(
        from.resolve(who + ".pem"), from.resolve(who + ".key"), from.resolve("ca.pem"));
  }

  private ClusterNode startAllAndAwaitLeader() throws Exception {
    return cluster.startAll(
        id -> {
          try {
            return Optional.of(tls(certs, id));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  private static Sequenced submit(ClusterNode n, int i) throws Exception {
    return LocalCluster.submit(n, Admitted.opaque(("entry " + i).getBytes()));
  }

  @Test
  void certsAreWrittenWithPrivateKeysOwnerOnlyAndNeverOverwritten() throws Exception {
    for (String f : List.of("ca", "n1", "n2", "n3", "operator")) {
      assertTrue(Files.exists(certs.resolve(f + ".pem")), f);
      assertEquals(
          Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
          Files.getPosixFilePermissions(certs.resolve(f + ".key")),
          f + ".key");
    }
    assertEquals("n2", tls(certs, "n2").identity().name());
    assertTrue(tls(certs, "n2").identity().isNode());
    assertTrue(!tls(certs, "operator").identity().isNode());
    byte[] before = Files.readAllBytes(certs.resolve("ca.key"));
    assertThrows(
        IllegalArgumentException.class, () -> ClusterCertificates.write(certs, List.of("n4")));
    assertTrue(Arrays.equals(before, Files.readAllBytes(certs.resolve("ca.key"))));
    // A member added later gets its certificate from the same CA.
    Path later = dir.resolve("certs4");
    ClusterCertificates.issue(
        later, List.of("n4"), certs.resolve("ca.pem"), certs.resolve("ca.key"));
    RaftTls n4 =
        RaftTls.load(later.resolve("n4.pem"), later.resolve("n4.key"), certs.resolve("ca.pem"));
    assertEquals("n4", n4.identity().name());
    assertEquals(
        Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
        Files.getPosixFilePermissions(later.resolve("n4.key")));
    // Another CA's files do not load together with this CA.
    Path other = dir.resolve("elsewhere");
    ClusterCertificates.write(other, List.of("n1"));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            RaftTls.load(
                other.resolve("n1.pem"), other.resolve("n1.key"), certs.resolve("ca.pem")));
    // A node started with another node's certificate is refused at once.
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new ClusterNode.Settings("n1", peers, dir.resolve("x")).withTls(tls(certs, "n2")));
    assertTrue(e.getMessage().contains("node n2"), e.getMessage());
  }

  @Test
  void threeNodesKeepTheLogOverMutualTls() throws Exception {
    ClusterNode leader = startAllAndAwaitLeader();
    for (int i = 0; i < 30; i++) assertEquals(i, submit(nodes.get("n" + (1 + i % 3)), i).index());
    cluster.awaitSize(30);
    long end;
    for (ClusterNode n : nodes.values())
      assertEquals(leader.sequencer().head().note(), n.sequencer().head().note());
    // Each node announced the batch formats it reads, and every node's replicated state says so.
    var expected = new TreeMap<>(Map.of("n1", 1, "n2", 1, "n3", 1));
    end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < end
        && nodes.values().stream().anyMatch(n -> !n.formatsRead().equals(expected)))
      Thread.sleep(20);
    for (ClusterNode n : nodes.values()) assertEquals(expected, n.formatsRead(), n.nodeId());
  }

  @Test
  void strangersAndOtherCasAreRefusedAndChangeNothing() throws Exception {
    ClusterNode leader = startAllAndAwaitLeader();
    submit(leader, 0);
    long size = leader.sequencer().head().size();
    InetSocketAddress at = peers.members().get(leader.nodeId());
    // No certificate: plaintext gRPC to a TLS port gets nowhere.
    ManagedChannel plain =
        NettyChannelBuilder.forAddress(at.getHostString(), at.getPort()).usePlaintext().build();
    try {
      StatusRuntimeException e =
          assertThrows(StatusRuntimeException.class, () -> vote(plain, leader.nodeId(), "n2"));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    } finally {
      plain.shutdownNow();
    }
    // A certificate issued by another CA, naming a member.
    Path other = dir.resolve("other-ca");
    ClusterCertificates.write(other, List.of("n1", "n2", "n3"));
    ManagedChannel foreign = channel(tls(other, "n2"), leader.nodeId());
    try {
      StatusRuntimeException e =
          assertThrows(StatusRuntimeException.class, () -> vote(foreign, leader.nodeId(), "n2"));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    } finally {
      foreign.shutdownNow();
    }
    // Membership through a plaintext client, or with another CA's operator: refused.
    try (Membership m = new Membership("t/log", peers, Optional.empty())) {
      assertThrows(IOException.class, () -> m.remove("n3"));
    }
    try (Membership m = new Membership("t/log", peers, Optional.of(tls(other, "operator")))) {
      assertThrows(IOException.class, () -> m.remove("n3"));
    }
    assertEquals(size, leader.sequencer().head().size());
    assertEquals(3, members().size(), "no stranger changed the members");
  }

  @Test
  void aNodeMaySpeakOnlyAsItself() throws Exception {
    ClusterNode leader = startAllAndAwaitLeader();
    String target = leader.nodeId();
    String mine = target.equals("n3") ? "n2" : "n3";
    String claimed =
        List.of("n1", "n2", "n3").stream()
            .filter(x -> !x.equals(target) && !x.equals(mine))
            .findFirst()
            .orElseThrow();
    ManagedChannel c = channel(tls(certs, mine), target);
    try {
      // In its own name, a node's vote request is heard (and answered: no vote for a stale term).
      vote(c, target, mine);
      // In another member's name it is refused.
      StatusRuntimeException e =
          assertThrows(StatusRuntimeException.class, () -> vote(c, target, claimed));
      assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().contains("only as itself"), e.toString());
    } finally {
      c.shutdownNow();
    }
    // Dialling a member's address, a client refuses a server whose certificate names another node.
    RaftPeerTrust trust =
        new RaftPeerTrust(certificate(certs.resolve("ca.pem")), (h, p) -> Optional.of(claimed));
    ManagedChannel misnamed = channel(tls(certs, mine), target, trust);
    try {
      StatusRuntimeException e =
          assertThrows(StatusRuntimeException.class, () -> vote(misnamed, target, mine));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
    } finally {
      misnamed.shutdownNow();
    }
  }

  @Test
  void onlyTheOperatorChangesTheMembers() throws Exception {
    ClusterNode leader = startAllAndAwaitLeader();
    submit(leader, 0);
    // A node's certificate reads the group but may not change it.
    try (Membership m = new Membership("t/log", peers, Optional.of(tls(certs, "n1")))) {
      assertEquals(3, m.members().size());
      IOException e = assertThrows(IOException.class, () -> m.remove("n3"));
      assertTrue(
          String.valueOf(e.getMessage()).contains("operator") || e.getCause() != null,
          e.toString());
    }
    assertEquals(3, members().size());
    // The operator's certificate may.
    String gone = leader.nodeId().equals("n3") ? "n2" : "n3";
    try (Membership m = new Membership("t/log", peers, Optional.of(tls(certs, "operator")))) {
      m.remove(gone);
    }
    assertEquals(2, members().size());
    submit(leader, 1);
  }

  @Test
  void aNewMemberWithACertificateFromTheSameCaJoinsOverTls() throws Exception {
    ClusterNode leader = startAllAndAwaitLeader();
    for (int i = 0; i < 20; i++) submit(leader, i);
    Path later = dir.resolve("certs4");
    ClusterCertificates.issue(
        later, List.of("n4"), certs.resolve("ca.pem"), certs.resolve("ca.key"));
    RaftTls n4tls =
        RaftTls.load(later.resolve("n4.pem"), later.resolve("n4.key"), certs.resolve("ca.pem"));
    Peers withN4 = Peers.parse(peers.format() + ",n4=127.0.0.1:" + LocalCluster.freePort());
    ClusterNode n4 = cluster.start("n4", withN4, true, Optional.of(n4tls));
    try (Membership m = new Membership("t/log", peers, Optional.of(tls(certs, "operator")))) {
      m.add("n4", withN4.address("n4"));
    }
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < end && n4.sequencer().head().size() < 20) Thread.sleep(50);
    assertEquals(leader.sequencer().head().note(), n4.sequencer().head().note());
    assertEquals(4, members().size());
    // A start announces the formats a node reads once, not once per round trip until applied.
    assertTrue(leader.appliedIndex() < 60, "Raft entries applied: " + leader.appliedIndex());
  }

  @Test
  void theRaftPortListensOnTheNodesOwnAddressOnly() throws Exception {
    startAllAndAwaitLeader();
    int port = peers.members().get("n1").getPort();
    // The peers name 127.0.0.1; another loopback address reaches a wildcard listener but not this.
    try (Socket s = new Socket()) {
      assertThrows(
          ConnectException.class, () -> s.connect(new InetSocketAddress("127.0.0.2", port), 2000));
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
    }
  }

  private List<Membership.Member> members() throws IOException {
    try (Membership m = new Membership("t/log", peers, Optional.of(tls(certs, "operator")))) {
      return m.members();
    }
  }

  private static X509Certificate certificate(Path pem) throws Exception {
    try (var in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  private ManagedChannel channel(RaftTls as, String to) throws Exception {
    return channel(
        as, to, new RaftPeerTrust(as.ca(), ClusterNode.addressBook(peers, null, () -> null)));
  }

  private ManagedChannel channel(RaftTls as, String to, RaftPeerTrust trust) throws Exception {
    InetSocketAddress at = peers.members().get(to);
    SslContext ssl =
        GrpcSslContexts.forClient().keyManager(as.keyManager()).trustManager(trust).build();
    return NettyChannelBuilder.forAddress(at.getHostString(), at.getPort()).sslContext(ssl).build();
  }

  /** A vote request to {@code to} in the name of {@code as}. */
  private static void vote(ManagedChannel c, String to, String as) {
    RaftServerProtocolServiceGrpc.newBlockingStub(c)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .requestVote(
            RequestVoteRequestProto.newBuilder()
                .setServerRequest(
                    RaftRpcRequestProto.newBuilder()
                        .setRequestorId(ByteString.copyFromUtf8(as))
                        .setReplyId(ByteString.copyFromUtf8(to))
                        .setRaftGroupId(
                            RaftGroupIdProto.newBuilder()
                                .setId(ClusterNode.groupOf("t/log").toByteString())))
                .setCandidateTerm(0)
                .build());
  }
}
