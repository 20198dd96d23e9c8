package dev.custody.server.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.server.CustodyServer;
import dev.custody.server.ServerConfig;
import dev.custody.server.read.LogReader;
import dev.custody.tiles.TileClient;
import dev.custody.tiles.TilePath;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * Export to a real S3 REST server (S3Proxy): the bucket holds exactly what the HTTP API serves and
 * a tile client verifies the log from it alone; files are never replaced (a different file already
 * there stops the export); a store behind the bucket is refused.
 */
class S3ExportTest {
  @RegisterExtension
  static final S3ProxyExtension S3 =
      S3ProxyExtension.builder().withCredentials("access", "secret").build();

  @TempDir Path data;
  private S3Client s3;

  @BeforeEach
  void bucket() {
    // The server takes credentials from the AWS SDK's default chain, as it would in production;
    // here, its system properties.
    System.setProperty("aws.accessKeyId", S3.getAccessKey());
    System.setProperty("aws.secretAccessKey", S3.getSecretKey());
    s3 =
        S3Client.builder()
            .endpointOverride(S3.getUri())
            .forcePathStyle(true)
            .region(Region.US_EAST_1)
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(S3.getAccessKey(), S3.getSecretKey())))
            .httpClient(UrlConnectionHttpClient.create())
            .build();
    s3.createBucket(b -> b.bucket("logs"));
  }

  @AfterEach
  void clean() {
    s3.close();
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  private Optional<byte[]> object(String key) {
    try {
      return Optional.of(
          s3.getObjectAsBytes(GetObjectRequest.builder().bucket("logs").key(key).build())
              .asByteArray());
    } catch (NoSuchKeyException e) {
      return Optional.empty();
    }
  }

  private CustodyServer start(Path dir) throws Exception {
    return CustodyServer.start(
        ServerConfig.builder(dir)
            .origin("s3.test/log")
            .anyPorts()
            .acceptAnyEntry(true)
            .queueCapacity(1024)
            .maxBatch(256)
            .s3(new S3Target(URI.create("s3://logs/custody/v1"), Optional.of(S3.getUri())))
            .build(),
        (n, t) -> {});
  }

  @Test
  void theBucketServesTheLogByteForByteAndVerifies() throws Exception {
    try (CustodyServer server = start(data)) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      try {
        var log = TransparencyLogGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
        var info = log.getLogInfo(GetLogInfoRequest.getDefaultInstance());
        CheckpointVerifier v =
            new CheckpointVerifier(
                info.getOrigin(), Ed25519NoteKeys.parseVerifierKey(info.getVerifierKey()));
        for (int i = 0; i < 300; i++)
          log.submit(
              SubmitRequest.newBuilder().setEntry(ByteString.copyFromUtf8("s3 " + i)).build());
        TileClient fromBucket = new TileClient(path -> object("custody/v1/" + path), v);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        SignedCheckpoint cp = null;
        while (cp == null || cp.size() < 300) {
          assertTrue(System.nanoTime() < deadline, "the bucket never caught up");
          Thread.sleep(50);
          cp = object("custody/v1/checkpoint").isPresent() ? fromBucket.checkpoint() : null;
        }
        assertEquals(
            "s3 299",
            new String(
                fromBucket.tree(cp.checkpoint()).entries(1).get(299 - 256),
                StandardCharsets.UTF_8));
        TileClient.Fetcher http =
            TileClient.http(URI.create("http://127.0.0.1:" + server.httpPort() + "/"));
        for (TilePath p :
            List.of(
                TilePath.tile(0, 0, 256),
                TilePath.tile(0, 1, 44),
                TilePath.tile(1, 0, 1),
                TilePath.entries(0, 256),
                TilePath.entries(1, 44))) {
          assertArrayEquals(
              http.get(p.format()).orElseThrow(),
              object("custody/v1/" + p.format()).orElseThrow(),
              p.format());
        }
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void aFileAlreadyThereWithOtherBytesStopsTheExportAndIsNeverReplaced() throws Exception {
    // A prefix of its own, so that nothing another test's exporter wrote (or had in flight when
    // its server stopped) can be there first: under CI load this test once found a checkpoint at
    // the shared prefix before writing its own.
    String prefix = "squat-" + System.nanoTime();
    // Another log's tile squats where this log's first full tile goes.
    byte[] squatter = "not this log's tile".getBytes(StandardCharsets.UTF_8);
    s3.putObject(
        PutObjectRequest.builder().bucket("logs").key(prefix + "/tile/0/000").build(),
        RequestBody.fromBytes(squatter));
    S3Sink sink = new S3Sink(URI.create("s3://logs/" + prefix), Optional.of(S3.getUri()));
    assertThrows(
        TileSink.ConflictException.class,
        () -> sink.putImmutable("tile/0/000", new byte[32 * 256]));
    assertArrayEquals(
        squatter,
        object(prefix + "/tile/0/000").orElseThrow(),
        "a published file is never replaced");
    sink.putImmutable("tile/0/000", squatter); // the same bytes again: success, nothing changes
    // A checkpoint is replaced only over the one this writer read.
    sink.putCheckpoint("one\n".getBytes(StandardCharsets.UTF_8), Optional.empty());
    assertThrows(
        TileSink.ConflictException.class,
        () -> sink.putCheckpoint("two\n".getBytes(StandardCharsets.UTF_8), Optional.empty()));
    sink.putCheckpoint(
        "two\n".getBytes(StandardCharsets.UTF_8),
        Optional.of("one\n".getBytes(StandardCharsets.UTF_8)));
    assertEquals(
        "two\n", new String(object(prefix + "/checkpoint").orElseThrow(), StandardCharsets.UTF_8));
    sink.close();
  }

  @Test
  void aStoreBehindTheBucketIsRefused(@TempDir Path oldCopy) throws Exception {
    Path keyFile = data.resolve("log.key");
    try (CustodyServer server = start(data)) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
      var log = TransparencyLogGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS);
      for (int i = 0; i < 20; i++)
        log.submit(
            SubmitRequest.newBuilder().setEntry(ByteString.copyFromUtf8("new " + i)).build());
      ch.shutdownNow();
    } // a clean stop exports the head
    assertTrue(object("custody/v1/checkpoint").isPresent());
    // The same log's key on an empty store: an operator who restored an old copy (here, none at
    // all).
    Files.createDirectories(oldCopy);
    Files.copy(keyFile, oldCopy.resolve("log.key"));
    try (CustodyServer old = start(oldCopy)) {
      S3Sink sink = new S3Sink(URI.create("s3://logs/custody/v1"), Optional.of(S3.getUri()));
      var reader = new LogReader(null);
      Exporter e = Exporter.start(sink, reader, null, () -> null, () -> false, n -> true, 60_000);
      Optional<String> objection = e.objection(old.sequencer().head());
      assertTrue(
          objection.isPresent() && objection.get().contains("ahead of this node's store"),
          objection.toString());
      e.close();
      // And the running server's own export refused to touch the bucket.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < deadline
          && !new String(object("custody/v1/checkpoint").orElseThrow()).contains("\n20\n")) {
        Thread.sleep(50);
      }
      assertTrue(
          new String(object("custody/v1/checkpoint").orElseThrow()).contains("\n20\n"),
          "the old copy must not overwrite the bucket's checkpoint");
    }
  }
}
