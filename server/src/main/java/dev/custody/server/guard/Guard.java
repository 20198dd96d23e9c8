package dev.custody.server.guard;

import java.util.Optional;

/**
 * What protects the log from its clients, as configured.
 *
 * @param tls TLS on both endpoints; empty for plaintext (the loopback default)
 * @param clientCallsPerSecond each client's sustained budget of gRPC calls; 0 for none
 * @param clientBurst calls a client may make at once above its rate
 * @param maxCallSeconds no call lives longer, whatever deadline the client set (or none)
 * @param verifyStore read every table file's checksums at start (time grows with the log)
 * @param maxQueueMillis submissions are refused (RESOURCE_EXHAUSTED) while the oldest queued one has
 *     waited longer: under overload, admitted calls keep their latency and the queue its size in time
 */
public record Guard(Optional<Tls> tls, double clientCallsPerSecond, int clientBurst, int maxCallSeconds,
    boolean verifyStore, int maxQueueMillis) {
  public static final Guard DEFAULT = new Guard(Optional.empty(), 0, 0, 60, false, 100);

  public Guard {
    if (clientCallsPerSecond < 0) throw new IllegalArgumentException("a client budget cannot be negative");
    if (clientCallsPerSecond > 0 && clientBurst < 1) throw new IllegalArgumentException("a client burst must be at least 1");
    if (maxCallSeconds < 1) throw new IllegalArgumentException("the longest call must be at least 1 s");
    if (maxQueueMillis < 1) throw new IllegalArgumentException("the longest queueing must be at least 1 ms");
  }

  /** Submit needs a client certificate exactly when a client CA is configured. */
  public boolean submittersNeedCertificates() {
    return tls.flatMap(Tls::clientCa).isPresent();
  }
}
