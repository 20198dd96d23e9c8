package dev.custody.server.guard;

import java.util.Objects;
import java.util.Optional;

/**
 * What protects the log from its clients, as configured.
 *
 * @param tls TLS on both endpoints; empty for plaintext (the loopback default)
 * @param clientCallsPerSecond each client's sustained budget of gRPC calls; 0 for none
 * @param clientBurst calls a client may make at once above its rate
 * @param maxCallSeconds no call lives longer, whatever deadline the client set (or none)
 * @param verifyStore read every table file's checksums at start (time grows with the log)
 * @param pushback when submissions are refused (RESOURCE_EXHAUSTED): once a queue has stood above
 *     its target wait for a whole interval; under overload admitted calls keep their latency
 */
public record Guard(
    Optional<ServerTls> tls,
    double clientCallsPerSecond,
    int clientBurst,
    int maxCallSeconds,
    boolean verifyStore,
    StandingQueue.Rule pushback) {
  public static final Guard DEFAULT =
      new Guard(Optional.empty(), 0, 0, 60, false, StandingQueue.Rule.DEFAULT);

  public Guard {
    if (clientCallsPerSecond < 0)
      throw new IllegalArgumentException("a client budget cannot be negative");
    if (clientCallsPerSecond > 0 && clientBurst < 1)
      throw new IllegalArgumentException("a client burst must be at least 1");
    if (maxCallSeconds < 1)
      throw new IllegalArgumentException("the longest call must be at least 1 s");
    Objects.requireNonNull(pushback, "pushback");
  }

  /** Submit needs a client certificate exactly when a client CA is configured. */
  public boolean submittersNeedCertificates() {
    return tls.flatMap(ServerTls::clientCa).isPresent();
  }
}
