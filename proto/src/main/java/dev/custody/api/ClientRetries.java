package dev.custody.api;

import io.grpc.ManagedChannelBuilder;
import java.util.List;
import java.util.Map;

/**
 * How every Custody client retries: gRPC's own retry policy, set in the channel's service config,
 * for every method of {@code custody.v1.TransparencyLog} and {@code custody.v1.ChainLookup}. {@code
 * RESOURCE_EXHAUSTED} (the log pushes back) and {@code UNAVAILABLE} (storage trouble, a restart, an
 * election) are retried with jittered exponential backoff — each wait drawn at random up to 0.1 s,
 * 0.2 s, 0.4 s, … capped at 5 s — within the call's own deadline, which stays the total budget.
 * Retrying a submission is harmless: the log answers a link it already holds with the original
 * entry, so a retried link never appears twice. Reads are idempotent.
 */
public final class ClientRetries {
  private ClientRetries() {}

  /** Attempts per call, the first included: about 11 s of backoff at most before the last one. */
  public static final int MAX_ATTEMPTS = 8;

  /**
   * The service config, as gRPC-Java's {@code defaultServiceConfig} takes it (JSON numbers as
   * Doubles).
   */
  public static Map<String, ?> serviceConfig() {
    Map<String, Object> retryPolicy =
        Map.of(
            "maxAttempts",
            (double) MAX_ATTEMPTS,
            "initialBackoff",
            "0.1s",
            "maxBackoff",
            "5s",
            "backoffMultiplier",
            2.0,
            "retryableStatusCodes",
            List.of("RESOURCE_EXHAUSTED", "UNAVAILABLE"));
    return Map.of(
        "methodConfig",
        List.of(
            Map.of(
                "name",
                List.of(
                    Map.of("service", "custody.v1.TransparencyLog"),
                    Map.of("service", "custody.v1.ChainLookup")),
                "retryPolicy",
                retryPolicy)));
  }

  /** Applies the policy to a channel builder; returns it for chaining. */
  public static <T extends ManagedChannelBuilder<?>> T apply(T builder) {
    builder.defaultServiceConfig(serviceConfig()).enableRetry().maxRetryAttempts(MAX_ATTEMPTS);
    return builder;
  }
}
