package dev.custody.server.cluster;

import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.proto.RaftProtos.InstallSnapshotRequestProto;
import org.apache.ratis.proto.RaftProtos.RaftRpcRequestProto;
import org.apache.ratis.proto.RaftProtos.ReadIndexRequestProto;
import org.apache.ratis.proto.RaftProtos.RequestVoteRequestProto;
import org.apache.ratis.proto.RaftProtos.StartLeaderElectionRequestProto;
import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCallListener;
import org.apache.ratis.thirdparty.io.grpc.Grpc;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.apache.ratis.thirdparty.io.grpc.Status;

/**
 * Which authenticated peer may make which call on a node's Raft port. TLS ({@link RaftPeerTrust})
 * has already required a certificate of the cluster's CA; this decides by what it names:
 *
 * <ul>
 *   <li>Raft between servers (votes, AppendEntries, InstallSnapshot, read index): nodes only, and a
 *       node only in its own name: a request whose requestor id is not the node its certificate
 *       names is refused, so that one node cannot vote or lead as another.
 *   <li>Writes (Ratis' client service): nodes only; the operator has nothing to write.
 *   <li>Reading the group (list, info): nodes and the operator. Changing it (configuration,
 *       leadership transfer, snapshots, group management): the operator only.
 * </ul>
 *
 * Anything else, including a service this class does not know, is refused (PERMISSION_DENIED).
 */
final class RaftCallAuthorizer implements ServerInterceptor {
  private static final Logger LOG = Logger.getLogger(RaftCallAuthorizer.class.getName());

  private static final String SERVER_SERVICE = "ratis.grpc.RaftServerProtocolService";
  private static final String CLIENT_SERVICE = "ratis.grpc.RaftClientProtocolService";
  private static final String ADMIN_SERVICE = "ratis.grpc.AdminProtocolService";
  private static final Set<String> ADMIN_READS = Set.of("groupList", "groupInfo");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Optional<RaftIdentity> who =
        identity(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    String service = call.getMethodDescriptor().getServiceName();
    String method = call.getMethodDescriptor().getBareMethodName();
    String refusal = refusal(who, service, method);
    if (refusal != null) return refuse(call, refusal);
    if (SERVER_SERVICE.equals(service)) {
      String self = who.get().name();
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
          next.startCall(call, headers)) {
        private boolean closed;

        @Override
        public void onMessage(Q message) {
          if (closed) return;
          String requestor = requestorOf(message);
          if (!self.equals(requestor)) {
            closed = true;
            String why =
                "node " + self + " may speak only as itself, not as " + printable(requestor);
            LOG.warning("Raft port: refused " + method + ": " + why);
            call.close(Status.PERMISSION_DENIED.withDescription(why), new Metadata());
            return;
          }
          super.onMessage(message);
        }

        @Override
        public void onHalfClose() {
          if (!closed) super.onHalfClose();
        }
      };
    }
    return next.startCall(call, headers);
  }

  /** Why {@code who} may not call {@code service/method}, or null when it may. */
  static String refusal(Optional<RaftIdentity> who, String service, String method) {
    if (who.isEmpty()) return "a certificate of the cluster's CA is required";
    RaftIdentity w = who.get();
    if (SERVER_SERVICE.equals(service) || CLIENT_SERVICE.equals(service)) {
      return w.isNode() ? null : w + " may not call " + method + ": nodes only";
    }
    if (ADMIN_SERVICE.equals(service)) {
      if (ADMIN_READS.contains(method) || !w.isNode()) return null;
      return w + " may not call " + method + ": the operator's certificate is required";
    }
    return "no such service on the Raft port: " + service;
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, String why) {
    LOG.warning(
        "Raft port: refused " + call.getMethodDescriptor().getFullMethodName() + ": " + why);
    call.close(Status.PERMISSION_DENIED.withDescription(why), new Metadata());
    return new ServerCall.Listener<>() {};
  }

  private static Optional<RaftIdentity> identity(SSLSession session) {
    if (session == null) return Optional.empty();
    try {
      var chain = session.getPeerCertificates();
      return chain.length == 0 ? Optional.empty() : RaftIdentity.of(chain[0]);
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty();
    }
  }

  /**
   * The node a server-to-server request claims to come from; null for a message of no such kind.
   */
  static String requestorOf(Object m) {
    RaftRpcRequestProto r;
    if (m instanceof AppendEntriesRequestProto a) r = a.getServerRequest();
    else if (m instanceof RequestVoteRequestProto v) r = v.getServerRequest();
    else if (m instanceof InstallSnapshotRequestProto s) r = s.getServerRequest();
    else if (m instanceof ReadIndexRequestProto i) r = i.getServerRequest();
    else if (m instanceof StartLeaderElectionRequestProto e) r = e.getServerRequest();
    else return null;
    return r.getRequestorId().toStringUtf8();
  }

  private static String printable(String s) {
    if (s == null) return "an unknown request";
    String cut = s.length() > 40 ? s.substring(0, 40) + "…" : s;
    return "'" + cut.replaceAll("[^\\x20-\\x7e]", "?") + "'";
  }
}
