package dev.custody.server.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
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
  void aBatchCostsWhatItsEntriesWouldOneByOne() {
    ClientBudgets b = new ClientBudgets(10, 3, now::get);
    assertTrue(b.take("a"), "the call itself");
    b.charge("a", 19); // its 19 further entries: the client is 17 tokens in debt
    assertFalse(b.take("a"));
    now.addAndGet(1_700_000_000L); // 1.7 s at 10/s pays the debt back, no more
    assertFalse(b.take("a"));
    now.addAndGet(100_000_000L);
    assertTrue(b.take("a"), "then it may call again");
    assertTrue(b.take("b"), "another client pays nothing for it");
  }

  @Test
  void aFullTableForgetsTheLeastRecentlySeenAndNeverRefusesANewcomer() {
    ClientBudgets b = new ClientBudgets(1, 1, now::get, 1_000);
    assertTrue(b.take("victim"));
    for (int i = 0; i < 5_000; i++)
      assertTrue(b.take("c" + i), "address " + i + " of a flood of addresses");
    assertEquals(1_000, b.clients(), "the table stays bounded");
    assertTrue(b.take("newcomer"), "a newcomer is admitted whatever the table holds");
    // The victim was forgotten: it starts again with a full burst, which costs it nothing.
    assertTrue(b.take("victim"));
    assertFalse(b.take("victim"), "and its budget still holds");
  }

  @Test
  void ipv6ClientsAreCountedByTheirSlash64() throws Exception {
    InetSocketAddress a = new InetSocketAddress(InetAddress.getByName("2001:db8:1:2:aaaa::1"), 5);
    InetSocketAddress b = new InetSocketAddress(InetAddress.getByName("2001:db8:1:2:bbbb::9"), 6);
    InetSocketAddress c = new InetSocketAddress(InetAddress.getByName("2001:db8:1:3::1"), 6);
    assertEquals(ClientBudgets.address(a), ClientBudgets.address(b));
    assertFalse(ClientBudgets.address(a).equals(ClientBudgets.address(c)));
    assertEquals("address 127.0.0.1", ClientBudgets.address(new InetSocketAddress("127.0.0.1", 9)));
  }
}
