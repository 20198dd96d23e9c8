package dev.custody.server.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The server's metrics, kept by Prometheus' Java client and written in its text exposition format.
 * One registry per server (no static state, so servers in one JVM do not mix). Labels are given as
 * name/value pairs: {@code counter("x_total", "help", "result", "ok")}. Recording is the client's
 * lock-free increment, cheap enough for the write path.
 */
final class Metrics {
  /** Seconds, from 100 µs to 10 s. */
  public static final double[] LATENCY_BUCKETS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
  };

  /** Entries per batch, powers of two to 4,096. */
  public static final double[] SIZE_BUCKETS = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Map<String, Histogram> histograms = new ConcurrentHashMap<>();

  /**
   * One series of a counter; every series of one counter has the same label names. (The exposition
   * writes labels sorted by name: give them in that order, and readers of the text see them so.)
   *
   * @param labels label names and values, alternating
   */
  public CounterDataPoint counter(String name, String help, String... labels) {
    Counter c =
        counters.computeIfAbsent(
            name,
            n ->
                Counter.builder()
                    .name(n)
                    .help(help)
                    .labelNames(names(labels))
                    .withoutExemplars() // no tracing here: sampling exemplars would only cost time
                    .register(registry));
    return labels.length == 0 ? c : c.labelValues(values(labels));
  }

  /** A counter kept elsewhere, read at each scrape. */
  public void counter(String name, String help, LongSupplier value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .callback(cb -> cb.call(value.getAsLong()))
        .register(registry);
  }

  /** One series of a histogram with these upper bounds (the same for every series of it). */
  public DistributionDataPoint histogram(
      String name, String help, double[] bounds, String... labels) {
    Histogram h =
        histograms.computeIfAbsent(
            name,
            n ->
                Histogram.builder()
                    .name(n)
                    .help(help)
                    .labelNames(names(labels))
                    .classicUpperBounds(bounds)
                    .classicOnly()
                    .withoutExemplars()
                    .register(registry));
    return labels.length == 0 ? h : h.labelValues(values(labels));
  }

  /**
   * A gauge read at each scrape; with labels, e.g. an "info" gauge of 1 that names a choice made at
   * start.
   */
  public void gauge(String name, String help, LongSupplier value, String... labels) {
    String[] v = values(labels);
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames(names(labels))
        .callback(cb -> cb.call(value.getAsLong(), v))
        .register(registry);
  }

  /**
   * A gauge with one label whose series are read at each scrape: {@code values} maps label value to
   * value.
   */
  public void gauges(String name, String help, String label, Supplier<Map<String, Long>> values) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames(label)
        .callback(cb -> values.get().forEach((k, v) -> cb.call(v, k)))
        .register(registry);
  }

  /** The current value of each series of counter {@code name}, by the value of its one label. */
  public Map<String, Long> counterValues(String name) {
    Map<String, Long> out = new TreeMap<>();
    for (MetricSnapshot s : registry.scrape(n -> n.equals(name.replaceAll("_total$", "")))) {
      if (!(s instanceof CounterSnapshot c)) continue;
      for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
        out.put(p.getLabels().size() == 0 ? "" : p.getLabels().getValue(0), (long) p.getValue());
      }
    }
    return out;
  }

  /** The text exposition (format 0.0.4), families in a stable order. */
  public String scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static String[] names(String[] labels) {
    if (labels.length % 2 != 0)
      throw new IllegalArgumentException(
          "labels come in name/value pairs: " + Arrays.toString(labels));
    String[] n = new String[labels.length / 2];
    for (int i = 0; i < n.length; i++) n[i] = labels[2 * i];
    return n;
  }

  private static String[] values(String[] labels) {
    String[] v = new String[labels.length / 2];
    for (int i = 0; i < v.length; i++) v[i] = labels[2 * i + 1];
    return v;
  }
}
