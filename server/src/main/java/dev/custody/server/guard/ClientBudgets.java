package dev.custody.server.guard;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * A token bucket per client: its verified certificate's subject when it presented one, else its
 * IP address (not its port, which a client can change at will). A call over budget ends at once
 * with RESOURCE_EXHAUSTED, before any work. Idle buckets are dropped, so the table stays bounded
 * by the clients active in the last minute, and at most {@link #MAX_CLIENTS} of those.
 */
public final class ClientBudgets implements ServerInterceptor {
  static final int MAX_CLIENTS = 100_000;
  private static final long IDLE_NANOS = 60_000_000_000L;

  private final double perSecond;
  private final int burst;
  private final LongSupplier clock;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

  private static final class Bucket {
    double tokens;
    long last;

    Bucket(double tokens, long now) {
      this.tokens = tokens;
      this.last = now;
    }
  }

  public ClientBudgets(double perSecond, int burst, LongSupplier nanoClock) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.clock = nanoClock;
  }

  /** Who a call comes from, for budgets and messages. */
  static String client(ServerCall<?, ?> call) {
    SSLSession ssl = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (ssl != null) {
      try {
        Certificate[] peer = ssl.getPeerCertificates();
        if (peer.length > 0 && peer[0] instanceof X509Certificate x) return "cert " + x.getSubjectX500Principal().getName();
      } catch (SSLPeerUnverifiedException noCertificate) {
        // fall back to the address
      }
    }
    SocketAddress a = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    return a instanceof InetSocketAddress i ? "address " + i.getAddress().getHostAddress() : "address " + a;
  }

  /** Takes one token from the client's bucket; false when it has none left. */
  boolean take(String client) {
    long now = clock.getAsLong();
    if (buckets.size() >= MAX_CLIENTS) evictIdle(now);
    if (buckets.size() >= MAX_CLIENTS && !buckets.containsKey(client)) return false; // the table is full: fail closed
    Bucket b = buckets.computeIfAbsent(client, k -> new Bucket(burst, now));
    synchronized (b) {
      b.tokens = Math.min(burst, b.tokens + (now - b.last) * perSecond / 1e9);
      b.last = now;
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    }
  }

  private void evictIdle(long now) {
    buckets.entrySet().removeIf(e -> {
      synchronized (e.getValue()) {
        return now - e.getValue().last > IDLE_NANOS;
      }
    });
  }

  int clients() {
    return buckets.size();
  }

  @Override public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String client = client(call);
    if (!take(client)) {
      call.close(Status.RESOURCE_EXHAUSTED.withDescription(client + " is over its budget of " + perSecond
          + " calls/s (burst " + burst + "); slow down and retry"), new Metadata());
      return new ServerCall.Listener<>() { };
    }
    return next.startCall(call, headers);
  }
}
