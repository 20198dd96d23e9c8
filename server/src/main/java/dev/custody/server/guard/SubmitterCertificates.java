package dev.custody.server.guard;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * With a client CA configured, the methods that write need a client certificate the TLS handshake
 * verified against it; every read stays open to anyone, as a transparency log's reads must.
 */
public final class SubmitterCertificates implements ServerInterceptor {
  private final Set<String> writeMethods;

  /**
   * @param writeMethods full gRPC method names that append to the log
   */
  public SubmitterCertificates(Set<String> writeMethods) {
    this.writeMethods = writeMethods;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (writeMethods.contains(call.getMethodDescriptor().getFullMethodName())
        && !verifiedClient(call)) {
      call.close(
          Status.UNAUTHENTICATED.withDescription(
              call.getMethodDescriptor().getBareMethodName()
                  + " needs a client certificate signed by this log's client CA; reads need none"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }

  private static boolean verifiedClient(ServerCall<?, ?> call) {
    SSLSession ssl = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (ssl == null) return false;
    try {
      return ssl.getPeerCertificates().length
          > 0; // the handshake verified the chain against the CA
    } catch (SSLPeerUnverifiedException e) {
      return false;
    }
  }
}
