package dev.custody.server.guard;

import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.serving.ClientAddress;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * A token bucket per client: its verified certificate's subject when it presented one, else its IP
 * address (not its port, which a client can change at will; for IPv6 its /64, which one host holds
 * whole). A call over budget ends at once with RESOURCE_EXHAUSTED, before any work.
 *
 * <p>The table holds at most {@link #MAX_CLIENTS} buckets, least recently seen first out, at a
 * constant cost per call: many addresses can make it forget an idle client (who then starts again
 * with a full burst, which costs that client nothing), never refuse one or slow every call.
 */
public final class ClientBudgets implements ServerInterceptor {
  static final int MAX_CLIENTS = 100_000;

  private final double perSecond;
  private final int burst;
  private final LongSupplier clock;
  private final int maxClients;

  /** In access order: the eldest entry is the least recently seen client. Guarded by itself. */
  private final LinkedHashMap<String, Bucket> buckets;

  private static final class Bucket {
    double tokens;
    long last;

    Bucket(double tokens, long now) {
      this.tokens = tokens;
      this.last = now;
    }
  }

  public ClientBudgets(double perSecond, int burst, LongSupplier nanoClock) {
    this(perSecond, burst, nanoClock, MAX_CLIENTS);
  }

  ClientBudgets(double perSecond, int burst, LongSupplier nanoClock, int maxClients) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.clock = nanoClock;
    this.maxClients = maxClients;
    this.buckets =
        new LinkedHashMap<>(1024, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
            return size() > ClientBudgets.this.maxClients;
          }
        };
  }

  /** Who a call comes from, for budgets and messages. */
  static String client(ServerCall<?, ?> call) {
    SSLSession ssl = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (ssl != null) {
      try {
        Certificate[] peer = ssl.getPeerCertificates();
        if (peer.length > 0 && peer[0] instanceof X509Certificate x)
          return "cert " + x.getSubjectX500Principal().getName();
      } catch (SSLPeerUnverifiedException noCertificate) {
        // fall back to the address
      }
    }
    return address(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
  }

  /** "address A" for IPv4, "address P::/64" for IPv6: the unit one client controls. */
  static String address(SocketAddress a) {
    return ClientAddress.of(a);
  }

  /**
   * Takes one token from the bucket of the client at {@code remote} (its address, as for a call
   * without a certificate); false when it has none left. For requests that are not gRPC calls: the
   * explorer's pages share a client's budget with its calls.
   */
  public boolean allows(SocketAddress remote) {
    return take(address(remote));
  }

  /** Takes one token from the client's bucket; false when it has none left. Constant time. */
  boolean take(String client) {
    long now = clock.getAsLong();
    synchronized (buckets) {
      Bucket b = buckets.computeIfAbsent(client, k -> new Bucket(burst, now));
      b.tokens = Math.min(burst, b.tokens + (now - b.last) * perSecond / 1e9);
      b.last = now;
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    }
  }

  int clients() {
    synchronized (buckets) {
      return buckets.size();
    }
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String client = client(call);
    if (!take(client)) {
      call.close(
          Status.RESOURCE_EXHAUSTED.withDescription(
              client
                  + " is over its budget of "
                  + perSecond
                  + " calls/s (burst "
                  + burst
                  + "); slow down and retry"),
          new Metadata());
      return new ServerCall.Listener<>() {};
    }
    ServerCall.Listener<Q> listener = next.startCall(call, headers);
    // A batch costs what its entries would cost one by one: the call took one token, each further
    // entry takes one more, in debt if need be, so the client waits for it before its next call.
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onMessage(Q message) {
        if (message instanceof SubmitBatchRequest batch && batch.getEntriesCount() > 1)
          charge(client, batch.getEntriesCount() - 1);
        super.onMessage(message);
      }
    };
  }

  /** Takes {@code n} tokens from the client's bucket, leaving it in debt if it has too few. */
  void charge(String client, int n) {
    long now = clock.getAsLong();
    synchronized (buckets) {
      Bucket b = buckets.computeIfAbsent(client, k -> new Bucket(burst, now));
      b.tokens = Math.min(burst, b.tokens + (now - b.last) * perSecond / 1e9) - n;
      b.last = now;
    }
  }
}
