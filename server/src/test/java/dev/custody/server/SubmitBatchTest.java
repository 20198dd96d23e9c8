package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.api.v1.SubmitBatchResponse;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.SubmitResult;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.Proofs;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SubmitBatch on a real server over loopback: chains in one call, refusals one by one. */
class SubmitBatchTest {
  @TempDir static Path dir;
  static CustodyServer server;
  static ManagedChannel channel;
  static TransparencyLogGrpc.TransparencyLogBlockingStub log;
  static CheckpointVerifier verifier;
  static final AtomicInteger commits = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    server =
        CustodyServer.start(
            ServerConfig.builder(dir)
                .origin("batch.custody.dev/log")
                .grpcPort(0)
                .httpPort(-1)
                .guard(TestLogs.PATIENT)
                .build(),
            (n, t) -> commits.incrementAndGet());
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    log = TransparencyLogGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    verifier = TestLogs.verifier(log.getLogInfo(GetLogInfoRequest.getDefaultInstance()));
  }

  @AfterAll
  static void stop() {
    channel.shutdownNow();
    server.close();
  }

  private static SubmitBatchResponse batch(List<ByteString> entries) {
    return log.submitBatch(SubmitBatchRequest.newBuilder().addAllEntries(entries).build());
  }

  /** Every logged entry's proof verifies against the response's one checkpoint. */
  private static Checkpoint checkAllProofs(SubmitBatchResponse r) throws Exception {
    Checkpoint cp = verifier.verify(r.getCheckpoint().getSignedNote());
    for (SubmitResult s : r.getResultsList()) {
      if (!s.hasEntry()) continue;
      LogEntry e = s.getEntry();
      assertEquals(cp.size(), e.getInclusionProof().getTreeSize());
      assertArrayEquals(Hashes.leafHash(e.getLeaf().toByteArray()), e.getLeafHash().toByteArray());
      Proofs.verifyInclusion(
          e.getIndex(),
          cp.size(),
          e.getLeafHash().toByteArray(),
          e.getInclusionProof().getHashesList().stream().map(ByteString::toByteArray).toList(),
          cp.rootHash());
    }
    return cp;
  }

  @Test
  void aWholeChainInOneCallIsLoggedInOrderAgainstOneCheckpoint() throws Exception {
    List<ByteString> chain = TestLinks.chain(1, 10);
    int before = commits.get();
    SubmitBatchResponse r = batch(chain);
    assertEquals(10, r.getResultsCount());
    assertEquals(1, commits.get() - before, "the whole chain in one group commit");
    checkAllProofs(r);
    long previous = r.getResults(0).getEntry().getIndex() - 1;
    for (SubmitResult s : r.getResultsList()) {
      assertTrue(s.hasEntry() && !s.hasRefused(), s.toString());
      assertFalse(s.getEntry().getDuplicate());
      assertEquals(previous + 1, s.getEntry().getIndex(), "each link right after the one below");
      previous = s.getEntry().getIndex();
    }
    // Again: every link answers its existing index, as Submit does.
    SubmitBatchResponse again = batch(chain);
    for (int i = 0; i < 10; i++) {
      assertTrue(again.getResults(i).getEntry().getDuplicate());
      assertEquals(
          r.getResults(i).getEntry().getIndex(), again.getResults(i).getEntry().getIndex());
    }
    checkAllProofs(again);
  }

  @Test
  void aBadEntryIsRefusedAloneAndWhatStandsOnItWithIt() throws Exception {
    List<ByteString> chain = new ArrayList<>(TestLinks.chain(2, 4));
    List<ByteString> entries = new ArrayList<>();
    entries.add(TestLinks.layerZero(2001));
    entries.add(TestLinks.flipLastByte(TestLinks.layerZero(2002))); // a bad signature
    entries.add(TestLinks.layerZero(2003));
    entries.add(TestLinks.layerZero(2003)); // a duplicate inside the request
    // A chain whose second link is broken: the links above it cannot stand.
    entries.add(chain.get(0));
    entries.add(TestLinks.flipLastByte(chain.get(1)));
    entries.add(chain.get(2));
    SubmitBatchResponse r = batch(entries);
    checkAllProofs(r);
    assertTrue(r.getResults(0).hasEntry());
    assertEquals(
        Status.Code.INVALID_ARGUMENT.value(), r.getResults(1).getRefused().getCode(), r.toString());
    assertTrue(r.getResults(1).getRefused().getMessage().contains("signature"), r.toString());
    assertTrue(r.getResults(2).hasEntry());
    assertEquals(r.getResults(2).getEntry().getIndex(), r.getResults(3).getEntry().getIndex());
    assertTrue(r.getResults(3).getEntry().getDuplicate(), "the second copy is the first's entry");
    assertTrue(r.getResults(4).hasEntry());
    assertTrue(r.getResults(5).hasRefused());
    assertEquals(
        Status.Code.FAILED_PRECONDITION.value(),
        r.getResults(6).getRefused().getCode(),
        r.toString());
  }

  @Test
  void anEntryOnALaterEntryOfTheRequestIsRefused() throws Exception {
    List<ByteString> chain = TestLinks.chain(3, 3);
    SubmitBatchResponse r = batch(List.of(chain.get(1), chain.get(0), chain.get(2)));
    assertEquals(Status.Code.FAILED_PRECONDITION.value(), r.getResults(0).getRefused().getCode());
    assertTrue(
        r.getResults(0).getRefused().getMessage().contains("submit the links below first"),
        r.toString());
    assertTrue(r.getResults(1).hasEntry());
    // The third stands on the second (refused, so never logged): refused with it.
    assertEquals(Status.Code.FAILED_PRECONDITION.value(), r.getResults(2).getRefused().getCode());
    checkAllProofs(r);
  }

  @Test
  void anOversizeOrEmptyBatchIsRefusedWholeAndChangesNothing() {
    long before = server.sequencer().head().size();
    List<ByteString> many = new ArrayList<>();
    for (int i = 0; i < 1025; i++) many.add(ByteString.copyFrom(new byte[] {(byte) i}));
    StatusRuntimeException tooMany = assertThrows(StatusRuntimeException.class, () -> batch(many));
    assertEquals(Status.Code.INVALID_ARGUMENT, tooMany.getStatus().getCode());
    assertTrue(tooMany.getStatus().getDescription().contains("1 to 1024 entries"));

    List<ByteString> big = new ArrayList<>();
    for (int i = 0; i < 5; i++) big.add(ByteString.copyFrom(new byte[257 * 1024 / 5 + 1]));
    StatusRuntimeException tooBig = assertThrows(StatusRuntimeException.class, () -> batch(big));
    assertEquals(Status.Code.INVALID_ARGUMENT, tooBig.getStatus().getCode());
    assertTrue(
        tooBig.getStatus().getDescription().contains("at most 262144 bytes"), tooBig.getMessage());

    StatusRuntimeException none =
        assertThrows(StatusRuntimeException.class, () -> batch(List.of()));
    assertEquals(Status.Code.INVALID_ARGUMENT, none.getStatus().getCode());
    assertEquals(before, server.sequencer().head().size(), "nothing was appended");
  }

  @Test
  void aBatchAndSubmitAgreeOnTheSameEntry() throws Exception {
    ByteString link = TestLinks.layerZero(5000);
    LogEntry one = log.submit(SubmitRequest.newBuilder().setEntry(link).build());
    SubmitBatchResponse r = batch(List.of(link));
    assertEquals(one.getIndex(), r.getResults(0).getEntry().getIndex());
    assertTrue(r.getResults(0).getEntry().getDuplicate());
    checkAllProofs(r);
  }
}
