package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.custody.api.v1.ConsistencyProof;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.CompactRange;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.Proofs;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole log over real gRPC on loopback with RocksDB on disk: thousands of concurrent
 * submissions, then every claim the API makes checked the way an outside client would.
 */
class GrpcEndToEndTest {
  private static final int ENTRIES = 3000;

  @TempDir static Path dir;
  static CustodyServer server;
  static ManagedChannel channel;
  static TransparencyLogGrpc.TransparencyLogBlockingStub log;
  static CheckpointVerifier verifier;
  static final Map<Long, LogEntry> acknowledged = new ConcurrentHashMap<>();
  static final Map<Long, String> checkpointsSeen = new ConcurrentHashMap<>();
  static final List<Integer> batchSizes = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void startAndFill() throws Exception {
    server = CustodyServer.start(TestLogs.config(dir), (n, t) -> batchSizes.add(n));
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    log = TransparencyLogGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    LogInfo info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
    verifier = TestLogs.verifier(info);

    TransparencyLogGrpc.TransparencyLogStub async = TransparencyLogGrpc.newStub(channel);
    Semaphore inFlight = new Semaphore(256);
    List<CompletableFuture<LogEntry>> all = new ArrayList<>();
    for (int i = 0; i < ENTRIES; i++) {
      inFlight.acquire();
      CompletableFuture<LogEntry> f = new CompletableFuture<>();
      all.add(f);
      async
          .withDeadlineAfter(60, TimeUnit.SECONDS)
          .submit(
              SubmitRequest.newBuilder().setEntry(entry(i)).build(),
              new StreamObserver<>() {
                @Override
                public void onNext(LogEntry e) {
                  f.complete(e);
                }

                @Override
                public void onError(Throwable t) {
                  f.completeExceptionally(t);
                  inFlight.release();
                }

                @Override
                public void onCompleted() {
                  inFlight.release();
                }
              });
    }
    for (CompletableFuture<LogEntry> f : all) {
      LogEntry e = f.get(60, TimeUnit.SECONDS);
      assertFalse(e.getDuplicate());
      assertTrue(
          acknowledged.put(e.getIndex(), e) == null, "index " + e.getIndex() + " handed out twice");
      InclusionProof p = e.getInclusionProof();
      checkpointsSeen.put(p.getTreeSize(), p.getCheckpoint().getSignedNote());
    }
  }

  @AfterAll
  static void stop() {
    channel.shutdownNow();
    server.close();
  }

  static ByteString entry(int i) {
    return ByteString.copyFrom(ByteBuffer.allocate(12).putInt(0x0c057d1).putLong(i).array());
  }

  @Test
  void everyAcknowledgementCarriesAVerifiedProofAgainstASignedCheckpoint() throws Exception {
    assertEquals(ENTRIES, acknowledged.size());
    for (LogEntry e : acknowledged.values()) {
      assertArrayEquals(Hashes.leafHash(e.getLeaf().toByteArray()), e.getLeafHash().toByteArray());
      TestLogs.verifyInclusion(verifier, e.getLeafHash().toByteArray(), e.getInclusionProof());
      assertTrue(e.getIndex() < e.getInclusionProof().getTreeSize());
    }
    // Group commit: concurrent submissions shared fsyncs.
    assertTrue(batchSizes.size() < ENTRIES, "batches: " + batchSizes.size());
  }

  @Test
  void checkpointRootEqualsTheRootRecomputedFromEntries() throws Exception {
    Checkpoint cp =
        TestLogs.open(verifier, log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()));
    assertTrue(cp.size() >= ENTRIES, "other tests may add entries, never remove them");
    CompactRange r = CompactRange.empty();
    long next = 0;
    while (next < cp.size()) {
      Iterator<LogEntry> it =
          log.getEntries(GetEntriesRequest.newBuilder().setStart(next).setEnd(cp.size()).build());
      while (it.hasNext()) {
        LogEntry e = it.next();
        assertEquals(next, e.getIndex());
        if (next < ENTRIES) assertEquals(acknowledged.get(next).getLeaf(), e.getLeaf());
        r = r.append(Hashes.leafHash(e.getLeaf().toByteArray()), (a, b, c) -> {});
        next++;
      }
    }
    assertArrayEquals(cp.rootHash(), r.root());
  }

  @Test
  void resubmittingReturnsTheSameIndexMarkedDuplicate() throws Exception {
    long sizeBefore = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
    for (int i : new int[] {0, 1, 1234, ENTRIES - 1}) {
      LogEntry again = log.submit(SubmitRequest.newBuilder().setEntry(entry(i)).build());
      assertTrue(again.getDuplicate());
      LogEntry first =
          acknowledged.values().stream()
              .filter(e -> e.getLeaf().equals(entry(i)))
              .findFirst()
              .orElseThrow();
      assertEquals(first.getIndex(), again.getIndex());
      TestLogs.verifyInclusion(
          verifier, again.getLeafHash().toByteArray(), again.getInclusionProof());
    }
    assertEquals(
        sizeBefore, log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize());
  }

  @Test
  void concurrentIdenticalSubmissionsMakeOneEntry() throws Exception {
    TransparencyLogGrpc.TransparencyLogFutureStub f = TransparencyLogGrpc.newFutureStub(channel);
    ByteString same = ByteString.copyFromUtf8("submitted by many at once");
    List<ListenableFuture<LogEntry>> all = new ArrayList<>();
    for (int i = 0; i < 64; i++)
      all.add(f.submit(SubmitRequest.newBuilder().setEntry(same).build()));
    long index = -1;
    int fresh = 0;
    for (var x : all) {
      LogEntry e = x.get(30, TimeUnit.SECONDS);
      if (index < 0) index = e.getIndex();
      assertEquals(index, e.getIndex(), "one entry, one index");
      if (!e.getDuplicate()) fresh++;
      TestLogs.verifyInclusion(verifier, e.getLeafHash().toByteArray(), e.getInclusionProof());
    }
    assertEquals(1, fresh, "exactly one submission appended; the rest were duplicates");
    InclusionProof p =
        log.getInclusionProof(
            GetInclusionProofRequest.newBuilder()
                .setLeafHash(ByteString.copyFrom(Hashes.leafHash(same.toByteArray())))
                .build());
    assertEquals(index, p.getIndex());
  }

  @Test
  void proofsAtOldSizesVerifyAgainstTheOldCheckpoints() throws Exception {
    Random rnd = new Random(7);
    List<Long> sizes = new ArrayList<>(new TreeMap<>(checkpointsSeen).keySet());
    for (int k = 0; k < 200; k++) {
      long size = sizes.get(rnd.nextInt(sizes.size()));
      long index = rnd.nextInt((int) size);
      InclusionProof p =
          log.getInclusionProof(
              GetInclusionProofRequest.newBuilder().setIndex(index).setTreeSize(size).build());
      assertEquals(checkpointsSeen.get(size), p.getCheckpoint().getSignedNote());
      TestLogs.verifyInclusion(verifier, acknowledged.get(index).getLeafHash().toByteArray(), p);
      // The same proof, found by leaf hash.
      InclusionProof byHash =
          log.getInclusionProof(
              GetInclusionProofRequest.newBuilder()
                  .setLeafHash(acknowledged.get(index).getLeafHash())
                  .setTreeSize(size)
                  .build());
      assertEquals(p, byHash);
    }
    // A size inside a batch was never signed: the proof comes with the tree head, which must match
    // entries.
    InclusionProof unsigned =
        log.getInclusionProof(
            GetInclusionProofRequest.newBuilder().setIndex(0).setTreeSize(1).build());
    CompactRange one =
        CompactRange.empty()
            .append(acknowledged.get(0L).getLeafHash().toByteArray(), (a, b, c) -> {});
    assertArrayEquals(one.root(), unsigned.getRootHash().toByteArray());
  }

  @Test
  void consistencyProofsBetweenSampledSizesVerify() throws Exception {
    List<Long> sizes = new ArrayList<>(new TreeMap<>(checkpointsSeen).keySet());
    Random rnd = new Random(11);
    for (int k = 0; k < 300; k++) {
      long a = sizes.get(rnd.nextInt(sizes.size()));
      long b = sizes.get(rnd.nextInt(sizes.size()));
      long from = Math.min(a, b);
      long to = Math.max(a, b);
      ConsistencyProof p =
          log.getConsistencyProof(
              GetConsistencyProofRequest.newBuilder().setFromSize(from).setToSize(to).build());
      Checkpoint c1 = verifier.verify(checkpointsSeen.get(from));
      Checkpoint c2 = verifier.verify(checkpointsSeen.get(to));
      Proofs.verifyConsistency(
          from, to, TestLogs.hashes(p.getHashesList()), c1.rootHash(), c2.rootHash());
    }
  }

  @Test
  void healthAndLogInfo() throws Exception {
    HealthCheckResponse h =
        HealthGrpc.newBlockingStub(channel)
            .check(
                HealthCheckRequest.newBuilder().setService("custody.v1.TransparencyLog").build());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, h.getStatus());
    LogInfo info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
    assertEquals("test.custody.dev/log", info.getOrigin());
    // SPKI DER of Ed25519 ends with the raw key that the vkey carries.
    byte[] spki = info.getPublicKey().toByteArray();
    byte[] vkeyBytes = Base64.getDecoder().decode(info.getVerifierKey().split("\\+", 3)[2]);
    assertArrayEquals(Arrays.copyOfRange(vkeyBytes, 1, 33), Arrays.copyOfRange(spki, 12, 44));
    PublicKey pk = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
    assertEquals("EdDSA", pk.getAlgorithm());
  }

  @Test
  void reflectionListsTheLogService() throws Exception {
    CompletableFuture<List<String>> names = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> req =
        ServerReflectionGrpc.newStub(channel)
            .serverReflectionInfo(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerReflectionResponse r) {
                    names.complete(
                        r.getListServicesResponse().getServiceList().stream()
                            .map(ServiceResponse::getName)
                            .toList());
                  }

                  @Override
                  public void onError(Throwable t) {
                    names.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    req.onCompleted();
    List<String> services = names.get(10, TimeUnit.SECONDS);
    assertTrue(services.contains("custody.v1.TransparencyLog"), services.toString());
    assertTrue(services.contains("grpc.health.v1.Health"), services.toString());
  }
}
