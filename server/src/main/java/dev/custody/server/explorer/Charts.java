package dev.custody.server.explorer;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The status page's charts as SVG geometry, computed on the server (no script, no library): a
 * {@link #WIDTH} × {@link #HEIGHT} box, a plot area inside margins that leave room for the axes'
 * tick labels and titles, round tick values on the value axis. Pure functions of their input.
 */
final class Charts {
  static final int WIDTH = 600;
  static final int HEIGHT = 200;

  /** The plot area: left of it the value ticks, below it the time or category labels. */
  static final int LEFT = 70;

  static final int RIGHT = 10;
  static final int TOP = 10;
  static final int BOTTOM = 40;

  private Charts() {}

  /**
   * A line of {@code points} ({time ms, value}, in time order) against time, titled {@code title}
   * with its value axis named {@code valueAxis}. Fewer than two points give an empty chart.
   */
  static Views.Chart line(String title, String valueAxis, List<long[]> points) {
    if (points.size() < 2) return Views.Chart.empty(title);
    long t0 = points.get(0)[0];
    long t1 = Math.max(t0 + 1, points.get(points.size() - 1)[0]);
    long max = 0;
    for (long[] p : points) max = Math.max(max, p[1]);
    long top = niceCeiling(max);
    StringBuilder line = new StringBuilder();
    for (long[] p : points)
      line.append(x(p[0], t0, t1)).append(',').append(y(p[1], top)).append(' ');
    List<Views.Tick> xTicks =
        List.of(
            new Views.Tick(LEFT, HEIGHT - BOTTOM + 14, "start", time(t0)),
            new Views.Tick(WIDTH - RIGHT, HEIGHT - BOTTOM + 14, "end", time(t1)));
    return new Views.Chart(
        title,
        List.of(),
        line.toString().strip(),
        valueTicks(top),
        xTicks,
        "log time (UTC)",
        valueAxis);
  }

  /** One bar per entry of {@code values} (label → count), on a value axis named {@code axis}. */
  static Views.Chart bars(String title, String axis, Map<String, Long> values) {
    if (values.isEmpty()) return Views.Chart.empty(title);
    long max = 0;
    for (long v : values.values()) max = Math.max(max, v);
    long top = niceCeiling(max);
    int n = values.size();
    int slot = (WIDTH - LEFT - RIGHT) / n;
    int w = Math.min(100, slot - 10);
    List<Views.Bar> bars = new ArrayList<>();
    List<Views.Tick> labels = new ArrayList<>();
    int i = 0;
    for (Map.Entry<String, Long> e : values.entrySet()) {
      int x = LEFT + i * slot + (slot - w) / 2;
      int y = y(e.getValue(), top);
      bars.add(new Views.Bar(e.getKey(), e.getValue(), x, y, w, HEIGHT - BOTTOM - y));
      labels.add(
          new Views.Tick(
              x + w / 2, HEIGHT - BOTTOM + 14, "middle", e.getKey() + " " + e.getValue()));
      i++;
    }
    return new Views.Chart(title, bars, "", valueTicks(top), labels, "outcome", axis);
  }

  /**
   * The smallest of 1, 2 or 5 times a power of ten that is at least {@code max} (at least 1): the
   * top of a value axis whose ticks are round numbers.
   */
  static long niceCeiling(long max) {
    if (max <= 1) return 1;
    long p = 1;
    while (p <= max / 10) p *= 10;
    for (long m : new long[] {1, 2, 5, 10}) if (m * p >= max) return m * p;
    return 10 * p;
  }

  /**
   * Evenly spaced round ticks from 0 to {@code top} (a {@link #niceCeiling}) on the value axis:
   * four or five steps where {@code top} divides so, else two, else one.
   */
  private static List<Views.Tick> valueTicks(long top) {
    List<Views.Tick> ticks = new ArrayList<>();
    int steps = top % 4 == 0 ? 4 : top % 5 == 0 ? 5 : top % 2 == 0 ? 2 : 1;
    for (int k = 0; k <= steps; k++) {
      long v = top * k / steps;
      ticks.add(new Views.Tick(LEFT - 6, y(v, top) + 4, "end", Long.toString(v)));
    }
    return ticks;
  }

  private static int x(long t, long t0, long t1) {
    return LEFT + (int) ((t - t0) * (WIDTH - LEFT - RIGHT) / (t1 - t0));
  }

  private static int y(long v, long top) {
    return HEIGHT - BOTTOM - (int) (v * (HEIGHT - TOP - BOTTOM) / top);
  }

  private static String time(long ms) {
    return Instant.ofEpochMilli(ms).toString().replace('T', ' ').replaceAll("\\.\\d+Z$", "Z");
  }
}
