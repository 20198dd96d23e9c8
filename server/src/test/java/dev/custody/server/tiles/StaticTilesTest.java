package dev.custody.server.tiles;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.io.DurableFiles;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.tiles.TileClient;
import dev.custody.tiles.TilePath;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --tiles-dir: the directory holds exactly what the HTTP API serves, and a tile client can use it
 * alone.
 */
class StaticTilesTest {
  @TempDir Path data;
  @TempDir Path tiles;

  @Test
  void staticFilesFollowTheLogAndVerify() throws Exception {
    try (CustodyServer server =
        CustodyServer.start(
            ServerConfig.builder(data)
                .origin("static.test/log")
                .anyPorts()
                .tilesDir(tiles)
                .acceptAnyEntry(true)
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> {})) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        var log = TransparencyLogGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
        var info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
        CheckpointVerifier v =
            new CheckpointVerifier(
                info.getOrigin(), Ed25519NoteKeys.parseVerifierKey(info.getVerifierKey()));
        for (int i = 0; i < 600; i++) {
          log.submit(
              SubmitRequest.newBuilder().setEntry(ByteString.copyFromUtf8("static " + i)).build());
        }
        TileClient fromDir = new TileClient(TileClient.directory(tiles), v);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        SignedCheckpoint cp;
        do {
          Thread.sleep(50);
          cp = Files.exists(tiles.resolve("checkpoint")) ? fromDir.checkpoint() : null;
          assertTrue(System.nanoTime() < deadline, "static tiles never caught up");
        } while (cp == null || cp.size() < 600);
        TileClient.Tree tree = fromDir.tree(cp.checkpoint());
        for (long index : new long[] {0, 255, 256, 511, 599}) {
          InclusionProof p =
              log.getInclusionProof(
                  GetInclusionProofRequest.newBuilder()
                      .setIndex(index)
                      .setTreeSize(cp.size())
                      .build());
          List<byte[]> ours = tree.proofs().inclusion(index, cp.size());
          assertEquals(p.getHashesCount(), ours.size());
          for (int i = 0; i < ours.size(); i++)
            assertArrayEquals(p.getHashes(i).toByteArray(), ours.get(i));
        }
        assertEquals("static 599", new String(tree.entries(2).get(599 - 512)));
        // Byte for byte what the HTTP API serves.
        TileClient.Fetcher httpFetch =
            TileClient.http(URI.create("http://127.0.0.1:" + server.httpPort() + "/"));
        for (TilePath p :
            List.of(
                TilePath.tile(0, 0, 256),
                TilePath.tile(0, 2, 88),
                TilePath.tile(1, 0, 2),
                TilePath.entries(1, 256),
                TilePath.entries(2, 88))) {
          assertArrayEquals(
              httpFetch.get(p.format()).orElseThrow(),
              Files.readAllBytes(tiles.resolve(p.format())),
              p.format());
          // World-readable, for a web server running as another user.
          assertEquals(
              "rw-r--r--",
              PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(tiles.resolve(p.format()))),
              p.format());
        }
        // The static checkpoint is the served one (with whatever cosignatures were gathered), byte
        // for byte.
        assertEquals(
            new String(httpFetch.get("checkpoint").orElseThrow()).substring(0, 40),
            Files.readString(tiles.resolve("checkpoint")).substring(0, 40));
        try (var all = Files.walk(tiles)) {
          assertTrue(
              all.noneMatch(f -> f.toString().endsWith(DurableFiles.TEMP_SUFFIX)),
              "no temporary file is left behind");
        }
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
