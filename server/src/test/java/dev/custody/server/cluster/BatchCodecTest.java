package dev.custody.server.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.custody.server.sequencer.Admitted;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A Raft entry's bytes: round trips, and every malformed form refused before anything is allocated.
 */
class BatchCodecTest {
  private static final Admitted LINK =
      new Admitted(
          new byte[] {1, 2, 3}, true, new byte[32], List.of(new byte[] {9, 9}, new byte[0]));
  private static final Admitted OPAQUE = Admitted.opaque(new byte[] {7});

  @Test
  void proposalsAndOutcomesRoundTrip() {
    byte[] bytes = BatchCodec.encode(new BatchCodec.Proposal(1234, List.of(LINK, OPAQUE)));
    BatchCodec.Proposal p = BatchCodec.decodeProposal(ByteBuffer.wrap(bytes));
    assertEquals(1234, p.timestampMs());
    assertEquals(2, p.entries().size());
    Admitted a = p.entries().get(0);
    assertArrayEquals(LINK.body(), a.body());
    assertTrue(a.timestamped());
    assertEquals(2, a.lookupKeys().size());
    assertArrayEquals(new byte[] {9, 9}, a.lookupKeys().get(0));
    assertArrayEquals(OPAQUE.dedupKey(), p.entries().get(1).dedupKey());
    assertArrayEquals(
        OPAQUE.leaf(5),
        p.entries().get(1).leaf(99),
        "an opaque entry's leaf does not depend on time");
    BatchCodec.Outcome o =
        BatchCodec.decodeOutcome(
            ByteBuffer.wrap(
                BatchCodec.encode(
                    new BatchCodec.Outcome(
                        new long[] {5, 3}, new boolean[] {false, true}, 77, "note\n"))));
    assertArrayEquals(new long[] {5, 3}, o.indices());
    assertTrue(o.duplicate()[1]);
    assertEquals(77, o.timestampMs());
    assertEquals("note\n", o.checkpoint());
  }

  @Test
  void everyTruncationAndEveryExtraByteIsRefused() {
    byte[] bytes = BatchCodec.encode(new BatchCodec.Proposal(1, List.of(LINK, OPAQUE)));
    for (int n = 0; n < bytes.length; n++) {
      byte[] cut = Arrays.copyOf(bytes, n);
      assertThrows(
          IllegalArgumentException.class,
          () -> BatchCodec.decodeProposal(ByteBuffer.wrap(cut)),
          "cut at " + n);
    }
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
    assertThrows(
        IllegalArgumentException.class, () -> BatchCodec.decodeProposal(ByteBuffer.wrap(longer)));
  }

  @Test
  void countsAndLengthsBeyondTheBytesAreRefusedBeforeAllocating() {
    // A count of two billion entries in 13 bytes: refused by arithmetic, not by running out of
    // memory.
    ByteBuffer huge = ByteBuffer.allocate(13).put((byte) 1).putLong(0).putInt(Integer.MAX_VALUE);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BatchCodec.decodeProposal(huge.flip()));
    assertTrue(e.getMessage().contains("claims"), e.getMessage());
    byte[] bytes = BatchCodec.encode(new BatchCodec.Proposal(1, List.of(OPAQUE)));
    ByteBuffer.wrap(bytes).putInt(1 + 8 + 4 + 1 + 32, -5); // the body length
    assertThrows(
        IllegalArgumentException.class, () -> BatchCodec.decodeProposal(ByteBuffer.wrap(bytes)));
    byte[] version = BatchCodec.encode(new BatchCodec.Proposal(1, List.of(OPAQUE)));
    version[0] = 2;
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> BatchCodec.decodeProposal(ByteBuffer.wrap(version)))
            .getMessage()
            .contains("format 2"));
    byte[] flags = BatchCodec.encode(new BatchCodec.Proposal(1, List.of(OPAQUE)));
    flags[13] = 4;
    assertThrows(
        IllegalArgumentException.class, () -> BatchCodec.decodeProposal(ByteBuffer.wrap(flags)));
  }

  @Test
  void randomBytesNeverDecodeIntoSomethingElseThanAnError() {
    Random r = new Random(42);
    for (int i = 0; i < 20_000; i++) {
      byte[] junk = new byte[r.nextInt(64)];
      r.nextBytes(junk);
      if (junk.length > 0) junk[0] = 1;
      try {
        BatchCodec.decodeProposal(ByteBuffer.wrap(junk));
      } catch (IllegalArgumentException expected) {
        // the only way it may fail
      }
      try {
        BatchCodec.decodeOutcome(ByteBuffer.wrap(junk));
      } catch (IllegalArgumentException expected) {
        // the only way it may fail
      }
    }
  }

  @Test
  void aNewerFormatIsProposedOnlyWhenEveryMemberReadsIt() {
    List<String> members = List.of("n1", "n2", "n3");
    // A rolling upgrade: n1 and n2 read format 2, n3 not yet (or has said nothing).
    assertEquals(1, BatchCodec.proposable(members, Map.of("n1", 2, "n2", 2), 2));
    assertEquals(1, BatchCodec.proposable(members, Map.of("n1", 2, "n2", 2, "n3", 1), 2));
    assertEquals(2, BatchCodec.proposable(members, Map.of("n1", 2, "n2", 2, "n3", 3), 2));
    // Never newer than the proposer itself writes, never below 1.
    assertEquals(1, BatchCodec.proposable(members, Map.of("n1", 3, "n2", 3, "n3", 3), 1));
    assertEquals(1, BatchCodec.proposable(List.of(), Map.of(), 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> BatchCodec.encode(new BatchCodec.Proposal(1, List.of(OPAQUE)), 2));
  }

  @Test
  void controlRecordsRoundTripAndBadOnesAreRefused() {
    byte[] r = BatchCodec.encode(new BatchCodec.Reads("n2", 1));
    assertTrue(BatchCodec.isControl(ByteBuffer.wrap(r)));
    assertTrue(
        !BatchCodec.isControl(
            ByteBuffer.wrap(BatchCodec.encode(new BatchCodec.Proposal(1, List.of())))));
    assertEquals(new BatchCodec.Reads("n2", 1), BatchCodec.decodeReads(ByteBuffer.wrap(r)));
    byte[] kind = r.clone();
    kind[1] = 9;
    assertThrows(
        IllegalArgumentException.class, () -> BatchCodec.decodeReads(ByteBuffer.wrap(kind)));
    byte[] zero = r.clone();
    zero[zero.length - 1] = 0;
    assertThrows(
        IllegalArgumentException.class, () -> BatchCodec.decodeReads(ByteBuffer.wrap(zero)));
    byte[] longer = Arrays.copyOf(r, r.length + 1);
    assertThrows(
        IllegalArgumentException.class, () -> BatchCodec.decodeReads(ByteBuffer.wrap(longer)));
    byte[] badId = BatchCodec.encode(new BatchCodec.Reads("n2", 1));
    badId[3] = ' ';
    assertThrows(
        IllegalArgumentException.class, () -> BatchCodec.decodeReads(ByteBuffer.wrap(badId)));
    // The applied position keeps the formats, byte for byte the same on every node.
    AppliedPosition p =
        AppliedPosition.NONE.withReads(2, 9, "n3", 1).withReads(2, 10, "n1", 1).at(2, 11, 77);
    assertEquals(p, AppliedPosition.decode(Optional.of(p.encode())));
    assertEquals(List.of("n1", "n3"), List.copyOf(p.reads().keySet()));
  }
}
