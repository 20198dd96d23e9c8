/** The server's Prometheus metrics: counters, gauges and histograms, and gRPC call metrics. */
package dev.custody.server.metrics;
