package dev.custody.server.explorer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The charts' scales: round tops, evenly spaced ticks, every mark inside the plot area. */
class ChartsTest {
  @Test
  void theValueAxisEndsOnARoundNumberAtLeastTheLargestValue() {
    long[][] cases = {
      {0, 1}, {1, 1}, {2, 2}, {3, 5}, {5, 5}, {6, 10}, {11, 20}, {21, 50}, {99, 100}
    };
    for (long[] c : cases) assertEquals(c[1], Charts.niceCeiling(c[0]), "for " + c[0]);
    assertEquals(2_000_000, Charts.niceCeiling(1_000_001));
  }

  @Test
  void ticksAreEvenAndMarksStayInThePlotArea() {
    Views.Chart line =
        Charts.line(
            "t",
            "entries",
            List.of(new long[] {1_000, 1}, new long[] {2_000, 3}, new long[] {9_000, 7}));
    List<String> labels = line.valueTicks().stream().map(Views.Tick::label).toList();
    assertEquals(List.of("0", "2", "4", "6", "8", "10"), labels);
    for (String point : line.polyline().split(" ")) {
      int x = Integer.parseInt(point.split(",")[0]);
      int y = Integer.parseInt(point.split(",")[1]);
      assertTrue(x >= line.left() && x <= line.right() && y >= line.top() && y <= line.bottom());
    }
    Map<String, Long> counts = new LinkedHashMap<>();
    counts.put("appended", 40L);
    counts.put("invalid", 3L);
    Views.Chart bars = Charts.bars("b", "submissions", counts);
    assertEquals("50", bars.valueTicks().get(bars.valueTicks().size() - 1).label());
    assertEquals(2, bars.bars().size());
    for (Views.Bar b : bars.bars()) {
      assertTrue(b.x() >= bars.left() && b.x() + b.width() <= bars.right());
      assertEquals(bars.bottom(), b.y() + b.height(), "bars stand on the axis");
    }
    assertTrue(Charts.line("t", "e", List.of(new long[] {1, 1})).isEmpty());
  }
}
