package dev.custody.server.metrics;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Times every gRPC call, from its headers to its close, by method and status code. */
public final class GrpcMetrics implements ServerInterceptor {
  private final ServerMetrics metrics;

  /** One series per method and status, found once: the interceptor runs on every call. */
  private final Map<String, DistributionDataPoint> series = new ConcurrentHashMap<>();

  public GrpcMetrics(ServerMetrics metrics) {
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
                    k -> metrics.grpcCall(method, status.getCode().name()))
                .observe((System.nanoTime() - start) / 1e9);
            super.close(status, trailers);
          }
        },
        headers);
  }
}
