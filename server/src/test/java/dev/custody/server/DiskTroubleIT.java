package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.Proofs;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server on a real, small file system (a tmpfs mounted for the test) that fills up: writes fail
 * closed with UNAVAILABLE and a message naming the cause, reads keep working, and writing resumes
 * by itself once space returns, with every acknowledged entry in place and every checkpoint
 * consistent with the later ones, also across a restart. Needs root (mount), as CI has.
 */
class DiskTroubleIT {
  @TempDir Path tmp;
  private Path mnt;
  private boolean mounted;

  @AfterEach
  void unmount() throws Exception {
    if (mounted) run("umount", "-l", mnt.toString());
  }

  /** A real, small file system of our own: 96 MiB of tmpfs at {@code mnt}. */
  private void mountTmpfs() throws Exception {
    mnt = tmp.resolve("mnt");
    Files.createDirectories(mnt);
    Assumptions.assumeTrue(
        run("mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", mnt.toString()) == 0,
        "mounting a tmpfs needs root");
    mounted = true;
  }

  private static int run(String... cmd) throws Exception {
    return new ProcessBuilder(cmd).redirectErrorStream(true).start().waitFor();
  }

  private static ByteString entry(int i) {
    byte[] e = new byte[60_000]; // large entries reach the end of the WAL's preallocated space soon
    ByteBuffer.wrap(e).putInt(0xd15c).putInt(i);
    return ByteString.copyFrom(e);
  }

  @Test
  void aFullDiskFailsWritesClosedKeepsReadsAndRecovers() throws Exception {
    mountTmpfs();
    Path data = mnt.resolve("data");
    ServerConfig config =
        ServerConfig.builder(data)
            .origin("test.custody.dev/disk")
            .anyPorts()
            .acceptAnyEntry(true)
            .queueCapacity(1024)
            .maxBatch(256)
            .build();
    Map<Long, ByteString> acked = new HashMap<>();
    List<String> checkpoints = new ArrayList<>();
    CustodyServer server = CustodyServer.start(config, (n, t) -> {});
    ManagedChannel ch =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    try {
      TransparencyLogGrpc.TransparencyLogBlockingStub log = TransparencyLogGrpc.newBlockingStub(ch);
      CheckpointVerifier v =
          TestLogs.verifier(log.getLogInfo(GetLogInfoRequest.getDefaultInstance()));
      int next = 0;
      for (; next < 20; next++) submit(log, next, acked, checkpoints);

      // Fill the file system to the last byte.
      Path filler = mnt.resolve("filler");
      try (OutputStream out = Files.newOutputStream(filler)) {
        byte[] mb = new byte[1 << 20];
        while (true) out.write(mb);
      } catch (IOException full) {
        assertTrue(String.valueOf(full.getMessage()).contains("No space left"), full.toString());
      }
      StatusRuntimeException refused = null;
      for (int tries = 0; tries < 2000 && refused == null; tries++, next++) {
        try {
          submit(log, next, acked, checkpoints);
        } catch (StatusRuntimeException e) {
          refused = e;
        }
      }
      assertTrue(refused != null, "the log kept taking writes on a full disk");
      assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode(), refused.toString());
      assertTrue(
          refused.getStatus().getDescription().contains("space"),
          refused.getStatus().getDescription());
      // While the disk is full: the next submission fails at once, with the cause...
      long t0 = System.nanoTime();
      StatusRuntimeException again = expectUnavailable(log, next++);
      assertTrue(
          again.getStatus().getDescription().contains("reads still work"),
          again.getStatus().getDescription());
      assertTrue(
          System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1), "fail fast while the disk is full");
      // ...and every read works: checkpoint, entries, proofs, tiles over HTTP.
      Checkpoint head =
          v.verify(log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote());
      assertTrue(head.size() >= acked.size());
      checkAll(log, v, acked, checkpoints, head);
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + server.httpPort() + "/checkpoint"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());

      // Space returns: writing resumes by itself, within a few retries.
      Files.delete(filler);
      boolean back = false;
      for (int tries = 0; tries < 100 && !back; tries++, next++) {
        try {
          submit(log, next, acked, checkpoints);
          back = true;
        } catch (StatusRuntimeException e) {
          assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
          Thread.sleep(200);
        }
      }
      assertTrue(back, "writes did not resume after space returned");
      for (int k = 0; k < 20; k++, next++) submit(log, next, acked, checkpoints);
      head = v.verify(log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote());
      checkAll(log, v, acked, checkpoints, head);
    } finally {
      ch.shutdownNow();
      server.close();
    }
    // And the same after a restart: nothing acknowledged lost, no checkpoint contradicted.
    server = CustodyServer.start(config, (n, t) -> {});
    ch = ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    try {
      TransparencyLogGrpc.TransparencyLogBlockingStub log = TransparencyLogGrpc.newBlockingStub(ch);
      CheckpointVerifier v =
          TestLogs.verifier(log.getLogInfo(GetLogInfoRequest.getDefaultInstance()));
      Checkpoint head =
          v.verify(log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote());
      checkAll(log, v, acked, checkpoints, head);
    } finally {
      ch.shutdownNow();
      server.close();
    }
  }

  private static StatusRuntimeException expectUnavailable(
      TransparencyLogGrpc.TransparencyLogBlockingStub log, int i) {
    try {
      log.submit(SubmitRequest.newBuilder().setEntry(entry(i)).build());
    } catch (StatusRuntimeException e) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
      return e;
    }
    return fail("a write was taken on a full disk");
  }

  private static void submit(
      TransparencyLogGrpc.TransparencyLogBlockingStub log,
      int i,
      Map<Long, ByteString> acked,
      List<String> checkpoints) {
    LogEntry e =
        log.withDeadlineAfter(30, TimeUnit.SECONDS)
            .submit(SubmitRequest.newBuilder().setEntry(entry(i)).build());
    assertTrue(
        acked.put(e.getIndex(), e.getLeaf()) == null,
        "index " + e.getIndex() + " acknowledged twice");
    checkpoints.add(e.getInclusionProof().getCheckpoint().getSignedNote());
  }

  /**
   * Every acknowledged entry at its index, provably included; every checkpoint handed out
   * consistent with the head.
   */
  private static void checkAll(
      TransparencyLogGrpc.TransparencyLogBlockingStub log,
      CheckpointVerifier v,
      Map<Long, ByteString> acked,
      List<String> checkpoints,
      Checkpoint head)
      throws Exception {
    Iterator<LogEntry> it =
        log.getEntries(GetEntriesRequest.newBuilder().setStart(0).setEnd(head.size()).build());
    Map<Long, ByteString> stored = new HashMap<>();
    it.forEachRemaining(e -> stored.put(e.getIndex(), e.getLeaf()));
    for (Map.Entry<Long, ByteString> a : acked.entrySet()) {
      assertEquals(a.getValue(), stored.get(a.getKey()), "acknowledged entry " + a.getKey());
      var p =
          log.getInclusionProof(
              GetInclusionProofRequest.newBuilder()
                  .setIndex(a.getKey())
                  .setTreeSize(head.size())
                  .build());
      Proofs.verifyInclusion(
          a.getKey(),
          head.size(),
          Hashes.leafHash(a.getValue().toByteArray()),
          TestLogs.hashes(p.getHashesList()),
          head.rootHash());
    }
    for (String note : checkpoints) {
      Checkpoint c = v.verify(note);
      if (c.size() == head.size()) {
        assertArrayEquals(head.rootHash(), c.rootHash(), "two roots for size " + c.size());
      } else {
        var p =
            log.getConsistencyProof(
                GetConsistencyProofRequest.newBuilder()
                    .setFromSize(c.size())
                    .setToSize(head.size())
                    .build());
        Proofs.verifyConsistency(
            c.size(),
            head.size(),
            TestLogs.hashes(p.getHashesList()),
            c.rootHash(),
            head.rootHash());
      }
    }
  }

  @Test
  void aLogOnAReadOnlyFileSystemServesReadsAndRefusesWrites() throws Exception {
    mountTmpfs();
    ServerConfig config =
        ServerConfig.builder(mnt.resolve("data"))
            .origin("test.custody.dev/ro")
            .anyPorts()
            .acceptAnyEntry(true)
            .queueCapacity(1024)
            .maxBatch(256)
            .build();
    Map<Long, ByteString> acked = new HashMap<>();
    List<String> checkpoints = new ArrayList<>();
    int next = 0;
    try (CustodyServer server = CustodyServer.start(config, (n, t) -> {})) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      var log = TransparencyLogGrpc.newBlockingStub(ch);
      for (; next < 30; next++) submit(log, next, acked, checkpoints);
      ch.shutdownNow();
    }
    assertEquals(0, run("mount", "-o", "remount,ro", mnt.toString()), "remount read-only");
    try (CustodyServer server = CustodyServer.start(config, (n, t) -> {})) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        var log = TransparencyLogGrpc.newBlockingStub(ch);
        CheckpointVerifier v =
            TestLogs.verifier(log.getLogInfo(GetLogInfoRequest.getDefaultInstance()));
        Checkpoint head =
            v.verify(log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote());
        assertEquals(30, head.size());
        checkAll(log, v, acked, checkpoints, head);
        StatusRuntimeException e = expectUnavailable(log, next++);
        assertTrue(
            e.getStatus().getDescription().contains("read-only file system"),
            e.getStatus().getDescription());
        HttpResponse<String> r =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create(
                                "http://127.0.0.1:" + server.httpPort() + "/tile/0/000.p/30"))
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
      } finally {
        ch.shutdownNow();
      }
    }
    assertEquals(0, run("mount", "-o", "remount,rw", mnt.toString()), "remount read-write");
    try (CustodyServer server = CustodyServer.start(config, (n, t) -> {})) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        var log = TransparencyLogGrpc.newBlockingStub(ch);
        submit(log, next, acked, checkpoints);
        CheckpointVerifier v =
            TestLogs.verifier(log.getLogInfo(GetLogInfoRequest.getDefaultInstance()));
        checkAll(
            log,
            v,
            acked,
            checkpoints,
            v.verify(log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote()));
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
