package dev.custody.server.tiles;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.ConsistencyProof;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.testing.NaiveTree;
import dev.custody.tiles.TileClient;
import dev.custody.tiles.TilePath;
import dev.custody.tiles.Tiles;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tlog-tiles HTTP API of a real server, checked by the tile client and against a naive tree: at
 * sizes 0, 1, 255, 256, 257 and 65,537 every tile hashes to the right subtree roots, and the tile
 * client rebuilds exactly the proofs the gRPC API gives.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TileHttpTest {
  @TempDir static Path dir;
  static CustodyServer server;
  static ManagedChannel channel;
  static TransparencyLogGrpc.TransparencyLogBlockingStub log;
  static CheckpointVerifier verifier;
  static final HttpClient http = HttpClient.newHttpClient();
  static final List<byte[]> leaves = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    server =
        CustodyServer.start(
            ServerConfig.builder(dir)
                .origin("tiles.test/log")
                .anyPorts()
                .acceptAnyEntry(true)
                .build(),
            (n, t) -> {});
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    log = TransparencyLogGrpc.newBlockingStub(channel).withDeadlineAfter(300, TimeUnit.SECONDS);
    var info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
    verifier =
        new CheckpointVerifier(
            info.getOrigin(), Ed25519NoteKeys.parseVerifierKey(info.getVerifierKey()));
  }

  @AfterAll
  static void stop() {
    channel.shutdownNow();
    server.close();
  }

  static URI base() {
    return URI.create("http://127.0.0.1:" + server.httpPort() + "/");
  }

  static HttpResponse<byte[]> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(base().resolve(path)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  /**
   * Grows the log to {@code size} with concurrent submissions, keeping the leaves in index order. A
   * submission refused because the log is behind is sent again shortly, as any client should.
   */
  static void growTo(int size) throws Exception {
    int from = leaves.size();
    byte[][] got = new byte[size - from][];
    Semaphore inFlight = new Semaphore(512);
    CountDownLatch done = new CountDownLatch(size - from);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    var async = TransparencyLogGrpc.newStub(channel);
    ScheduledExecutorService retry = Executors.newSingleThreadScheduledExecutor();
    for (int i = from; i < size; i++) {
      inFlight.acquire();
      byte[] e = ByteBuffer.allocate(12).putInt(0x711e5).putLong(i).array();
      SubmitRequest req = SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(e)).build();
      async.submit(
          req,
          new StreamObserver<>() {
            @Override
            public void onNext(LogEntry r) {
              got[(int) r.getIndex() - from] = r.getLeaf().toByteArray();
            }

            @Override
            public void onError(Throwable t) {
              if (Status.fromThrowable(t).getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                StreamObserver<LogEntry> again = this;
                retry.schedule(() -> async.submit(req, again), 5, TimeUnit.MILLISECONDS);
                return;
              }
              failure.set(t);
              inFlight.release();
              done.countDown();
            }

            @Override
            public void onCompleted() {
              inFlight.release();
              done.countDown();
            }
          });
    }
    assertTrue(done.await(300, TimeUnit.SECONDS));
    retry.shutdown();
    if (failure.get() != null) throw new AssertionError(failure.get());
    for (byte[] g : got) leaves.add(g);
  }

  @Test
  @Order(1) // grows the shared log through exact sizes, so it goes first
  void everySizeServesCorrectTilesAndTheTileClientMatchesGrpc() throws Exception {
    Random rnd = new Random(5);
    TileClient client = new TileClient(TileClient.http(base()), verifier);
    SignedCheckpoint previous = null;
    for (int size : new int[] {0, 1, 255, 256, 257, 65_537}) {
      growTo(size);
      SignedCheckpoint cp = client.checkpoint();
      assertEquals(size, cp.size());
      HttpResponse<byte[]> c = get("checkpoint");
      assertEquals(
          "text/plain; charset=utf-8", c.headers().firstValue("content-type").orElseThrow());
      assertTrue(c.headers().firstValue("cache-control").orElseThrow().contains("no-cache"));

      NaiveTree naive = new NaiveTree(leaves.stream().map(Hashes::leafHash).toList());
      for (int level = 0; level < 3; level++) {
        for (long t = 0; Tiles.width(level, t, size) > 0; t++) {
          int w = Tiles.width(level, t, size);
          HttpResponse<byte[]> r = get(TilePath.tile(level, t, w).format());
          assertEquals(200, r.statusCode(), TilePath.tile(level, t, w).format());
          assertEquals(w * 32, r.body().length);
          assertEquals(
              w == 256 ? TileRoutes.IMMUTABLE : TileRoutes.PARTIAL,
              r.headers().firstValue("cache-control").orElseThrow());
          for (int i = 0; i < w; i += (level == 0 ? 17 : 1)) {
            long span = 1L << (8 * level);
            long node = t * 256 + i;
            assertArrayEquals(
                naive.mth((int) (node * span), (int) ((node + 1) * span)),
                Arrays.copyOfRange(r.body(), i * 32, i * 32 + 32),
                "tile " + level + "/" + t + " entry " + i);
          }
          // One wider than the tree allows does not exist yet.
          if (w < 256) assertEquals(404, get(TilePath.tile(level, t, w + 1).format()).statusCode());
          if (w < 256) assertEquals(404, get(TilePath.tile(level, t, 256).format()).statusCode());
        }
      }
      if (size == 0) {
        assertEquals(404, get("tile/0/000.p/1").statusCode());
        assertEquals(404, get("tile/entries/000.p/1").statusCode());
        continue;
      }
      TileClient.Tree tree = client.tree(cp.checkpoint());
      for (int k = 0; k < 25; k++) {
        long index = rnd.nextInt(size);
        InclusionProof p =
            log.getInclusionProof(
                GetInclusionProofRequest.newBuilder().setIndex(index).setTreeSize(size).build());
        List<byte[]> ours = tree.proofs().inclusion(index, size);
        assertEquals(p.getHashesCount(), ours.size());
        for (int i = 0; i < ours.size(); i++)
          assertArrayEquals(p.getHashes(i).toByteArray(), ours.get(i));
      }
      if (previous != null && previous.size() > 0) {
        ConsistencyProof p =
            log.getConsistencyProof(
                GetConsistencyProofRequest.newBuilder()
                    .setFromSize(previous.size())
                    .setToSize(size)
                    .build());
        List<byte[]> ours = tree.proofs().consistency(previous.size(), size);
        assertEquals(p.getHashesCount(), ours.size());
        for (int i = 0; i < ours.size(); i++)
          assertArrayEquals(p.getHashes(i).toByteArray(), ours.get(i));
      }
      long lastBundle = (size - 1) / 256;
      List<byte[]> entries = tree.entries(lastBundle);
      for (int i = 0; i < entries.size(); i++)
        assertArrayEquals(leaves.get((int) (lastBundle * 256 + i)), entries.get(i));
      if (size > 256) assertEquals(256, tree.entries(0).size());
      previous = cp;
    }
  }

  @Test
  void badRequestsAndEncodings() throws Exception {
    if (leaves.size() < 2) growTo(2);
    assertEquals(404, get("tile/0/0").statusCode());
    assertEquals(404, get("tile/0/x000/000.p/1").statusCode());
    assertEquals(404, get("nothing").statusCode());
    assertEquals(404, get("tile/99/000").statusCode());
    HttpResponse<byte[]> post =
        http.send(
            HttpRequest.newBuilder(base().resolve("checkpoint"))
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(405, post.statusCode());
    HttpResponse<byte[]> gz =
        http.send(
            HttpRequest.newBuilder(base().resolve("tile/entries/000.p/1"))
                .header("Accept-Encoding", "gzip")
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, gz.statusCode());
    assertEquals("gzip", gz.headers().firstValue("content-encoding").orElse(""));
    HttpResponse<byte[]> tile =
        http.send(
            HttpRequest.newBuilder(base().resolve("tile/0/000.p/1"))
                .header("Accept-Encoding", "gzip")
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(32, tile.body().length, "hashes are served uncompressed");
  }

  @Test
  void metricsArePrometheusText() throws Exception {
    if (leaves.size() < 2) growTo(2);
    HttpResponse<byte[]> r = get("metrics");
    assertEquals(200, r.statusCode());
    assertTrue(
        r.headers()
            .firstValue("content-type")
            .orElseThrow()
            .startsWith("text/plain; version=0.0.4"));
    String m = new String(r.body());
    long size = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
    assertTrue(
        m.contains("\ncustody_tree_size " + size + ".0\n"),
        m); // Prometheus' client writes every value as a double
    assertTrue(m.contains("# TYPE custody_commit_seconds histogram"), m);
    Matcher appended =
        Pattern.compile("\ncustody_submissions_total\\{result=\"appended\"} ([0-9.]+)\n")
            .matcher(m);
    assertTrue(appended.find(), m);
    assertEquals(size, (long) Double.parseDouble(appended.group(1)));
    assertTrue(
        m.contains(
            "custody_grpc_request_seconds_count{code=\"OK\",method=\"Submit\"} " + size + "\n"),
        m);
  }

  @Test
  void aClientRefusesTilesThatDoNotMatchTheSignedRoot() throws Exception {
    if (leaves.size() < 300) growTo(300);
    TileClient honest = new TileClient(TileClient.http(base()), verifier);
    SignedCheckpoint cp = honest.checkpoint();
    // A mirror that flips one bit of any tile it serves.
    TileClient.Fetcher real = TileClient.http(base());
    TileClient.Fetcher lying =
        path ->
            real.get(path)
                .map(
                    b -> {
                      if (path.startsWith("tile/0/")) b[5] ^= 1;
                      return b;
                    });
    TileClient liar = new TileClient(lying, verifier);
    assertThrows(
        Exception.class, () -> liar.tree(cp.checkpoint()).proofs().inclusion(3, cp.size()));
    // And a full tile that lies is caught against the tile above it.
    TileClient.Fetcher lyingFull =
        path ->
            real.get(path)
                .map(
                    b -> {
                      if (path.equals("tile/0/000")) b[40] ^= 1;
                      return b;
                    });
    assertThrows(
        Exception.class,
        () ->
            new TileClient(lyingFull, verifier)
                .tree(cp.checkpoint())
                .proofs()
                .inclusion(3, cp.size()));
  }
}
