package dev.custody.server.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token buckets against a clock the test moves: burst, refill, independence, bounded table. */
class ClientBudgetsTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);

  @Test
  void aBurstThenTheRateAndEachClientOnItsOwn() {
    ClientBudgets b = new ClientBudgets(10, 3, now::get);
    for (int i = 0; i < 3; i++) assertTrue(b.take("a"), "burst call " + i);
    assertFalse(b.take("a"), "over the burst");
    assertTrue(b.take("b"), "another client has its own bucket");
    now.addAndGet(100_000_000L); // 0.1 s at 10/s: one token
    assertTrue(b.take("a"));
    assertFalse(b.take("a"));
    now.addAndGet(10_000_000_000L); // a long pause refills to the burst, not beyond
    for (int i = 0; i < 3; i++) assertTrue(b.take("a"));
    assertFalse(b.take("a"));
  }

  @Test
  void theTableStaysBoundedIdleClientsGoAndAFullTableFailsClosed() {
    ClientBudgets b = new ClientBudgets(1, 1, now::get);
    for (int i = 0; i < ClientBudgets.MAX_CLIENTS; i++) assertTrue(b.take("c" + i));
    assertEquals(ClientBudgets.MAX_CLIENTS, b.clients());
    assertFalse(b.take("newcomer"), "a full table of active clients refuses new ones");
    now.addAndGet(61_000_000_000L); // every client idle for over a minute
    assertTrue(b.take("newcomer"));
    assertEquals(1, b.clients(), "idle buckets were dropped");
  }
}
