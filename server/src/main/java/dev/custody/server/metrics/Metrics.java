package dev.custody.server.metrics;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The server's metrics in the Prometheus text exposition format (version 0.0.4): counters,
 * gauges read on demand, and histograms with fixed buckets. Small on purpose: no dependency, and
 * recording is one LongAdder increment, cheap enough for the write path.
 */
public final class Metrics {
  /** A histogram with fixed upper bounds; observations are lock-free. */
  public static final class Histogram {
    private final double[] bounds;
    private final LongAdder[] buckets;
    private final LongAdder count = new LongAdder();
    private final DoubleAdder sum = new DoubleAdder();

    Histogram(double[] bounds) {
      this.bounds = bounds.clone();
      this.buckets = new LongAdder[bounds.length];
      for (int i = 0; i < bounds.length; i++) buckets[i] = new LongAdder();
    }

    public void observe(double v) {
      for (int i = 0; i < bounds.length; i++) {
        if (v <= bounds[i]) {
          buckets[i].increment();
          break;
        }
      }
      count.increment();
      sum.add(v);
    }

    void write(StringBuilder b, String name, String labels) {
      long cumulative = 0;
      String sep = labels.isEmpty() ? "" : labels + ",";
      for (int i = 0; i < bounds.length; i++) {
        cumulative += buckets[i].sum();
        b.append(name).append("_bucket{").append(sep).append("le=\"").append(num(bounds[i])).append("\"} ")
            .append(cumulative).append('\n');
      }
      b.append(name).append("_bucket{").append(sep).append("le=\"+Inf\"} ").append(count.sum()).append('\n');
      String l = labels.isEmpty() ? "" : "{" + labels + "}";
      b.append(name).append("_sum").append(l).append(' ').append(num(sum.sum())).append('\n');
      b.append(name).append("_count").append(l).append(' ').append(count.sum()).append('\n');
    }
  }

  private record Family(String type, String help, Map<String, Object> series) {}

  private final Map<String, Family> families = new ConcurrentHashMap<>();

  /** Seconds, from 100 µs to 10 s. */
  public static final double[] LATENCY_BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  /** Entries per batch, powers of two to 4,096. */
  public static final double[] SIZE_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};

  public LongAdder counter(String name, String help, String labels) {
    return (LongAdder) family(name, "counter", help).series.computeIfAbsent(labels, k -> new LongAdder());
  }

  /** The current value of each series of counter {@code name}, by its labels (as written: {@code result="ok"}). */
  public Map<String, Long> counterValues(String name) {
    Family f = families.get(name);
    Map<String, Long> out = new TreeMap<>();
    if (f == null || !f.type.equals("counter")) return out;
    f.series.forEach((labels, v) -> out.put(labels, ((LongAdder) v).sum()));
    return out;
  }

  public Histogram histogram(String name, String help, String labels, double[] bounds) {
    return (Histogram) family(name, "histogram", help).series.computeIfAbsent(labels, k -> new Histogram(bounds));
  }

  public void gauge(String name, String help, LongSupplier value) {
    gauge(name, help, "", value);
  }

  /** A gauge with labels, e.g. an "info" gauge of 1 that names a choice made at start. */
  public void gauge(String name, String help, String labels, LongSupplier value) {
    family(name, "gauge", help).series.put(labels, value);
  }

  private Family family(String name, String type, String help) {
    Family f = families.computeIfAbsent(name, n -> new Family(type, help, new ConcurrentHashMap<>()));
    if (!f.type.equals(type)) throw new IllegalArgumentException(name + " is a " + f.type);
    return f;
  }

  /** The text exposition, families and series in a stable order. */
  public String scrape() {
    StringBuilder b = new StringBuilder();
    for (Map.Entry<String, Family> e : new TreeMap<>(families).entrySet()) {
      String name = e.getKey();
      Family f = e.getValue();
      b.append("# HELP ").append(name).append(' ').append(f.help).append('\n');
      b.append("# TYPE ").append(name).append(' ').append(f.type).append('\n');
      for (Map.Entry<String, Object> s : new TreeMap<>(f.series).entrySet()) {
        String labels = s.getKey();
        Object v = s.getValue();
        if (v instanceof Histogram h) {
          h.write(b, name, labels);
        } else {
          long n = v instanceof LongAdder a ? a.sum() : ((LongSupplier) v).getAsLong();
          b.append(name).append(labels.isEmpty() ? "" : "{" + labels + "}").append(' ').append(n).append('\n');
        }
      }
    }
    return b.toString();
  }

  private static String num(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : String.format(Locale.ROOT, "%s", d);
  }
}
