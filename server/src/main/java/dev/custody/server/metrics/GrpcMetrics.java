package dev.custody.server.metrics;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/** Times every gRPC call, from its headers to its close, by method and status code. */
public final class GrpcMetrics implements ServerInterceptor {
  private final Metrics metrics;

  /** One series per method and status, found once: the interceptor runs on every call. */
  private final java.util.Map<String, io.prometheus.metrics.core.datapoints.DistributionDataPoint>
      series = new java.util.concurrent.ConcurrentHashMap<>();

  public GrpcMetrics(Metrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    long start = System.nanoTime();
    String method = call.getMethodDescriptor().getBareMethodName();
    return next.startCall(
        new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            series
                .computeIfAbsent(
                    method + " " + status.getCode(),
                    k ->
                        metrics.histogram(
                            "custody_grpc_request_seconds",
                            "gRPC calls by method and status, seconds from headers to close",
                            Metrics.LATENCY_BUCKETS,
                            "code",
                            status.getCode().name(),
                            "method",
                            method))
                .observe((System.nanoTime() - start) / 1e9);
            super.close(status, trailers);
          }
        },
        headers);
  }
}
