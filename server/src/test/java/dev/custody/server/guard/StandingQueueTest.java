package dev.custody.server.guard;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/** CoDel's rule on a clock the test moves: milliseconds as nanoseconds for readability. */
class StandingQueueTest {
  private static final long MS = 1_000_000;
  private final StandingQueue q = new StandingQueue(new StandingQueue.Rule(50, 500));

  @Test
  void aBurstThatDrainsWithinTheIntervalIsNeverRefused() {
    // 400 ms of departures that waited long (a burst, a cold start), then the queue is back under
    // target.
    for (long t = 0; t < 400; t += 10) {
      assertTrue(q.leave(300 * MS, t * MS));
      assertTrue(q.admits(300 * MS), "no arrival is refused before a whole interval above target");
    }
    assertTrue(q.leave(10 * MS, 400 * MS));
    assertFalse(q.standing());
    // The same again right after: the run of waits above target starts anew.
    for (long t = 410; t < 800; t += 10) assertTrue(q.leave(300 * MS, t * MS));
    assertFalse(q.standing());
  }

  @Test
  void aGcPauseIsOneLongWaitNotAStandingQueue() {
    assertTrue(q.leave(2_000 * MS, 0));
    assertTrue(q.leave(1_990 * MS, 5 * MS));
    assertTrue(q.leave(3 * MS, 20 * MS));
    assertTrue(q.admits(StandingQueue.EMPTY));
    assertFalse(q.standing());
  }

  @Test
  void aQueueAboveTargetForAWholeIntervalRefusesUntilItDrains() {
    for (long t = 0; t <= 500; t += 10) q.leave(80 * MS, t * MS);
    assertTrue(q.standing());
    assertFalse(
        q.admits(60 * MS), "arrivals are refused while the oldest waiting has waited past target");
    assertTrue(
        q.admits(20 * MS), "a standing queue still admits once its head is back under target");
    assertTrue(q.leave(90 * MS, 510 * MS), "a departure under twice the target is served");
    assertFalse(q.leave(120 * MS, 520 * MS), "a departure past twice the target is refused");
    assertTrue(q.standing());
    assertTrue(q.leave(30 * MS, 530 * MS), "a departure under target ends the standing queue");
    assertFalse(q.standing());
    assertTrue(q.admits(60 * MS));
  }

  @Test
  void anEmptyQueueEndsStandingEvenWithNoDeparture() {
    for (long t = 0; t <= 600; t += 10) q.leave(80 * MS, t * MS);
    assertTrue(q.standing());
    assertTrue(q.admits(StandingQueue.EMPTY));
    assertFalse(q.standing());
  }

  @Test
  void theRuleRefusesNonsense() {
    Assertions.assertThrows(IllegalArgumentException.class, () -> new StandingQueue.Rule(0, 10));
    Assertions.assertThrows(IllegalArgumentException.class, () -> new StandingQueue.Rule(50, 10));
  }

  private record Item(String name, long queuedAt, Object group) {}

  @Test
  void aGroupWithOneEntryRefusedIsRefusedWholeAndTheRestIsServed() {
    for (long t = 0; t <= 500; t += 10) q.leave(80 * MS, t * MS);
    assertTrue(q.standing());
    long now = 1_000 * MS;
    Object g = new Object();
    java.util.List<Item> batch =
        new java.util.ArrayList<>(
            java.util.List.of(
                new Item("alone, waited too long", now - 120 * MS, null),
                new Item("grouped, waited little", now - 90 * MS, g),
                new Item("grouped, waited too long", now - 130 * MS, g),
                new Item("alone, waited little", now - 90 * MS, null)));
    java.util.Map<String, String> refused = new java.util.LinkedHashMap<>();
    q.leaveInGroups(
        batch, Item::queuedAt, Item::group, now, (it, why) -> refused.put(it.name, why));
    Assertions.assertEquals(
        java.util.List.of("alone, waited little"), batch.stream().map(Item::name).toList());
    Assertions.assertEquals(
        java.util.List.of(
            "alone, waited too long", "grouped, waited little", "grouped, waited too long"),
        java.util.List.copyOf(refused.keySet()));
    assertTrue(refused.get("alone, waited too long").contains("waited 120 ms in its queue;"));
    assertTrue(
        refused.get("grouped, waited little").contains("90 ms in its queue (or another of its"),
        refused.toString());
  }
}
