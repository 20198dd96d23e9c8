package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.ChainLookupGrpc;
import dev.custody.api.v1.Checkpoint;
import dev.custody.api.v1.FindLinksRequest;
import dev.custody.api.v1.GetChainRequest;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input table (docs/operating.md, "Bad input"): every RPC and HTTP endpoint with each class
 * of malformed input gets the right status and a message a person understands, and changes nothing:
 * the checkpoint (size and root) is the same after the whole table as before it.
 */
class BadInputTest {
  @TempDir static Path dir;
  static CustodyServer server;
  static ManagedChannel channel;
  static TransparencyLogGrpc.TransparencyLogBlockingStub log;
  static ChainLookupGrpc.ChainLookupBlockingStub lookup;

  @BeforeAll
  static void start() throws Exception {
    // Layer-link mode (the default): Submit takes signed links only.
    server =
        CustodyServer.start(
            ServerConfig.builder(dir)
                .origin("test.custody.dev/bad")
                .anyPorts()
                .queueCapacity(1024)
                .maxBatch(256)
                .build(),
            (n, t) -> {});
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    log = TransparencyLogGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    lookup = ChainLookupGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    // A few real links, so that sizes, indices and lookups have something to be wrong about.
    for (int i = 0; i < 5; i++)
      log.submit(SubmitRequest.newBuilder().setEntry(TestLinks.layerZero(i)).build());
  }

  @AfterAll
  static void stop() {
    channel.shutdownNow();
    server.close();
  }

  /** One row of the table: what is sent where, and what must come back. */
  private record Row(
      String endpoint, String inputClass, Status.Code code, String messagePart, Supplier<?> call) {}

  private static final byte[] NOT_PROTOBUF = {
    (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f
  };

  /**
   * Sends bytes that are no valid message to a method, as a broken or hostile client would.
   * gRPC-Java answers these itself, before any Custody code runs, with UNKNOWN.
   */
  private static Object raw(MethodDescriptor<?, ?> method, byte[] body) {
    MethodDescriptor.Marshaller<byte[]> bytes =
        new MethodDescriptor.Marshaller<>() {
          @Override
          public InputStream stream(byte[] v) {
            return new ByteArrayInputStream(v);
          }

          @Override
          public byte[] parse(InputStream in) {
            try {
              return in.readAllBytes();
            } catch (IOException e) {
              throw new IllegalStateException(e);
            }
          }
        };
    MethodDescriptor<byte[], byte[]> m =
        MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(method.getType())
            .setFullMethodName(method.getFullMethodName())
            .setRequestMarshaller(bytes)
            .setResponseMarshaller(bytes)
            .build();
    if (method.getType() == MethodDescriptor.MethodType.UNARY) {
      return ClientCalls.blockingUnaryCall(
          channel, m, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), body);
    }
    return ClientCalls.blockingServerStreamingCall(
            channel, m, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), body)
        .hasNext();
  }

  private static List<Row> table(long size) {
    List<Row> t = new ArrayList<>();
    // Submit
    t.add(
        new Row(
            "Submit",
            "empty",
            Status.Code.INVALID_ARGUMENT,
            "empty",
            () -> log.submit(SubmitRequest.getDefaultInstance())));
    t.add(
        new Row(
            "Submit",
            "not a signed link (wrong encoding)",
            Status.Code.INVALID_ARGUMENT,
            "",
            () ->
                log.submit(
                    SubmitRequest.newBuilder()
                        .setEntry(ByteString.copyFromUtf8("{\"hello\":1}"))
                        .build())));
    t.add(
        new Row(
            "Submit",
            "truncated link",
            Status.Code.INVALID_ARGUMENT,
            "",
            () ->
                log.submit(
                    SubmitRequest.newBuilder()
                        .setEntry(TestLinks.layerZero(99).substring(0, 40))
                        .build())));
    t.add(
        new Row(
            "Submit",
            "link with a flipped signature byte",
            Status.Code.INVALID_ARGUMENT,
            "signature",
            () ->
                log.submit(
                    SubmitRequest.newBuilder()
                        .setEntry(TestLinks.flipLastByte(TestLinks.layerZero(98)))
                        .build())));
    t.add(
        new Row(
            "Submit",
            "link on a predecessor never logged",
            Status.Code.FAILED_PRECONDITION,
            "predecessor",
            () ->
                log.submit(
                    SubmitRequest.newBuilder()
                        .setEntry(TestLinks.onUnknownPredecessor())
                        .build())));
    t.add(
        new Row(
            "Submit",
            "entry over 64 KiB",
            Status.Code.INVALID_ARGUMENT,
            "at most",
            () ->
                log.submit(
                    SubmitRequest.newBuilder()
                        .setEntry(ByteString.copyFrom(new byte[65_536]))
                        .build())));
    t.add(
        new Row(
            "Submit",
            "message over 256 KiB (transport limit)",
            Status.Code.RESOURCE_EXHAUSTED,
            "",
            () ->
                log.submit(
                    SubmitRequest.newBuilder()
                        .setEntry(
                            ByteString.copyFrom(
                                new byte[CustodyServer.MAX_INBOUND_MESSAGE_BYTES + 1]))
                        .build())));
    t.add(
        new Row(
            "Submit",
            "bytes that are no protobuf message",
            Status.Code.UNKNOWN,
            "Application error processing RPC",
            () -> raw(TransparencyLogGrpc.getSubmitMethod(), NOT_PROTOBUF)));
    t.add(
        new Row(
            "Submit",
            "deadline already passed",
            Status.Code.DEADLINE_EXCEEDED,
            "",
            () ->
                log.withDeadlineAfter(-1, TimeUnit.SECONDS)
                    .submit(SubmitRequest.newBuilder().setEntry(TestLinks.layerZero(97)).build())));
    // GetInclusionProof
    t.add(
        new Row(
            "GetInclusionProof",
            "neither index nor leaf_hash",
            Status.Code.INVALID_ARGUMENT,
            "either index or leaf_hash",
            () -> log.getInclusionProof(GetInclusionProofRequest.getDefaultInstance())));
    t.add(
        new Row(
            "GetInclusionProof",
            "negative index",
            Status.Code.INVALID_ARGUMENT,
            "negative",
            () ->
                log.getInclusionProof(GetInclusionProofRequest.newBuilder().setIndex(-1).build())));
    t.add(
        new Row(
            "GetInclusionProof",
            "index = size",
            Status.Code.OUT_OF_RANGE,
            "not in a tree of size",
            () ->
                log.getInclusionProof(
                    GetInclusionProofRequest.newBuilder().setIndex(size).build())));
    t.add(
        new Row(
            "GetInclusionProof",
            "index beyond tree_size",
            Status.Code.OUT_OF_RANGE,
            "not in a tree of size",
            () ->
                log.getInclusionProof(
                    GetInclusionProofRequest.newBuilder().setIndex(3).setTreeSize(2).build())));
    t.add(
        new Row(
            "GetInclusionProof",
            "tree_size beyond the log",
            Status.Code.OUT_OF_RANGE,
            "beyond the log's size",
            () ->
                log.getInclusionProof(
                    GetInclusionProofRequest.newBuilder()
                        .setIndex(0)
                        .setTreeSize(size + 1)
                        .build())));
    t.add(
        new Row(
            "GetInclusionProof",
            "tree_size = 2^63 - 1",
            Status.Code.OUT_OF_RANGE,
            "beyond the log's size",
            () ->
                log.getInclusionProof(
                    GetInclusionProofRequest.newBuilder()
                        .setIndex(0)
                        .setTreeSize(Long.MAX_VALUE)
                        .build())));
    t.add(
        new Row(
            "GetInclusionProof",
            "negative tree_size",
            Status.Code.INVALID_ARGUMENT,
            "negative",
            () ->
                log.getInclusionProof(
                    GetInclusionProofRequest.newBuilder().setIndex(0).setTreeSize(-5).build())));
    t.add(
        new Row(
            "GetInclusionProof",
            "leaf_hash of 31 bytes",
            Status.Code.INVALID_ARGUMENT,
            "32 bytes",
            () ->
                log.getInclusionProof(
                    GetInclusionProofRequest.newBuilder()
                        .setLeafHash(ByteString.copyFrom(new byte[31]))
                        .build())));
    t.add(
        new Row(
            "GetInclusionProof",
            "leaf_hash of no entry",
            Status.Code.NOT_FOUND,
            "no entry",
            () ->
                log.getInclusionProof(
                    GetInclusionProofRequest.newBuilder()
                        .setLeafHash(ByteString.copyFrom(new byte[32]))
                        .build())));
    t.add(
        new Row(
            "GetInclusionProof",
            "bytes that are no protobuf message",
            Status.Code.UNKNOWN,
            "Application error processing RPC",
            () -> raw(TransparencyLogGrpc.getGetInclusionProofMethod(), NOT_PROTOBUF)));
    // GetConsistencyProof
    t.add(
        new Row(
            "GetConsistencyProof",
            "from_size = 0",
            Status.Code.INVALID_ARGUMENT,
            "at least 1",
            () ->
                log.getConsistencyProof(
                    GetConsistencyProofRequest.newBuilder().setFromSize(0).setToSize(2).build())));
    t.add(
        new Row(
            "GetConsistencyProof",
            "from_size > to_size",
            Status.Code.INVALID_ARGUMENT,
            "larger than",
            () ->
                log.getConsistencyProof(
                    GetConsistencyProofRequest.newBuilder().setFromSize(4).setToSize(2).build())));
    t.add(
        new Row(
            "GetConsistencyProof",
            "to_size beyond the log",
            Status.Code.OUT_OF_RANGE,
            "beyond the log's size",
            () ->
                log.getConsistencyProof(
                    GetConsistencyProofRequest.newBuilder()
                        .setFromSize(1)
                        .setToSize(size + 1)
                        .build())));
    t.add(
        new Row(
            "GetConsistencyProof",
            "negative to_size",
            Status.Code.INVALID_ARGUMENT,
            "negative",
            () ->
                log.getConsistencyProof(
                    GetConsistencyProofRequest.newBuilder().setFromSize(1).setToSize(-1).build())));
    t.add(
        new Row(
            "GetConsistencyProof",
            "from_size beyond the log (to_size 0 = latest)",
            Status.Code.INVALID_ARGUMENT,
            "larger than",
            () ->
                log.getConsistencyProof(
                    GetConsistencyProofRequest.newBuilder().setFromSize(size + 1).build())));
    // GetEntries
    t.add(
        new Row(
            "GetEntries",
            "negative start",
            Status.Code.INVALID_ARGUMENT,
            "negative",
            () ->
                log.getEntries(GetEntriesRequest.newBuilder().setStart(-1).setEnd(2).build())
                    .hasNext()));
    t.add(
        new Row(
            "GetEntries",
            "end = start",
            Status.Code.INVALID_ARGUMENT,
            "exclusive",
            () ->
                log.getEntries(GetEntriesRequest.newBuilder().setStart(2).setEnd(2).build())
                    .hasNext()));
    t.add(
        new Row(
            "GetEntries",
            "start = size",
            Status.Code.OUT_OF_RANGE,
            "not below the tree size",
            () ->
                log.getEntries(
                        GetEntriesRequest.newBuilder().setStart(size).setEnd(size + 10).build())
                    .hasNext()));
    t.add(
        new Row(
            "GetEntries",
            "deadline already passed",
            Status.Code.DEADLINE_EXCEEDED,
            "",
            () ->
                log.withDeadlineAfter(-1, TimeUnit.SECONDS)
                    .getEntries(GetEntriesRequest.newBuilder().setStart(0).setEnd(1).build())
                    .hasNext()));
    // GetChain and FindLinks
    t.add(
        new Row(
            "GetChain",
            "neither link_id nor manifest_digest",
            Status.Code.INVALID_ARGUMENT,
            "set either link_id or manifest_digest",
            () -> lookup.getChain(GetChainRequest.getDefaultInstance())));
    t.add(
        new Row(
            "GetChain",
            "link_id of 5 bytes",
            Status.Code.INVALID_ARGUMENT,
            "32-byte",
            () ->
                lookup.getChain(
                    GetChainRequest.newBuilder()
                        .setLinkId(ByteString.copyFrom(new byte[5]))
                        .build())));
    t.add(
        new Row(
            "GetChain",
            "manifest_digest not sha256:<hex>",
            Status.Code.INVALID_ARGUMENT,
            "manifest_digest",
            () ->
                lookup.getChain(
                    GetChainRequest.newBuilder().setManifestDigest("md5:abc").build())));
    t.add(
        new Row(
            "GetChain",
            "unknown link_id",
            Status.Code.NOT_FOUND,
            "",
            () ->
                lookup.getChain(
                    GetChainRequest.newBuilder()
                        .setLinkId(ByteString.copyFrom(new byte[32]))
                        .build())));
    t.add(
        new Row(
            "FindLinks",
            "no key",
            Status.Code.INVALID_ARGUMENT,
            "set one of",
            () -> lookup.findLinks(FindLinksRequest.getDefaultInstance()).hasNext()));
    t.add(
        new Row(
            "FindLinks",
            "negative start_index",
            Status.Code.INVALID_ARGUMENT,
            "negative",
            () ->
                lookup
                    .findLinks(
                        FindLinksRequest.newBuilder()
                            .setRepository("r.example/a")
                            .setStartIndex(-1)
                            .build())
                    .hasNext()));
    t.add(
        new Row(
            "FindLinks",
            "key_id of 3 bytes",
            Status.Code.INVALID_ARGUMENT,
            "32-byte",
            () ->
                lookup
                    .findLinks(
                        FindLinksRequest.newBuilder()
                            .setKeyId(ByteString.copyFrom(new byte[3]))
                            .build())
                    .hasNext()));
    t.add(
        new Row(
            "FindLinks",
            "bytes that are no protobuf message",
            Status.Code.UNKNOWN,
            "Application error processing RPC",
            () -> raw(ChainLookupGrpc.getFindLinksMethod(), NOT_PROTOBUF)));
    return t;
  }

  @Test
  void everyRowOfTheTableIsRefusedAsDocumentedAndNothingChanges() {
    Checkpoint before = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance());
    List<String> failures = new ArrayList<>();
    for (Row r : table(before.getTreeSize())) {
      StatusRuntimeException e;
      try {
        r.call().get();
        failures.add(r.endpoint() + " / " + r.inputClass() + ": accepted");
        continue;
      } catch (StatusRuntimeException x) {
        e = x;
      }
      String desc = String.valueOf(e.getStatus().getDescription());
      if (e.getStatus().getCode() != r.code() || !desc.contains(r.messagePart())) {
        failures.add(
            r.endpoint()
                + " / "
                + r.inputClass()
                + ": got "
                + e.getStatus().getCode()
                + " \""
                + desc
                + "\", want "
                + r.code()
                + " mentioning \""
                + r.messagePart()
                + "\"");
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    assertEquals(
        before,
        log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()),
        "a bad request changed the log");
  }

  @Test
  void anEndBeyondTheLogIsClampedNotRefused() {
    long size = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
    var it =
        log.getEntries(
            GetEntriesRequest.newBuilder().setStart(size - 2).setEnd(Long.MAX_VALUE).build());
    int n = 0;
    while (it.hasNext()) {
      assertEquals(size - 2 + n, it.next().getIndex());
      n++;
    }
    assertEquals(2, n);
  }

  /** HTTP rows: (method, raw request target or line, expected status). */
  @Test
  void everyMalformedHttpRequestGetsItsStatusAndNothingChanges() throws Exception {
    Checkpoint before = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance());
    String base = "http://127.0.0.1:" + server.httpPort();
    HttpClient http = HttpClient.newHttpClient();
    Object[][] rows = {
      {"GET", "/tile/0/x001", 404}, // non-canonical index
      {"GET", "/tile/0/000.p/0", 404}, // width 0
      {"GET", "/tile/0/000.p/256", 404}, // a partial tile as wide as a full one
      {"GET", "/tile/0/000.p/300", 404}, // wider than a tile
      {"GET", "/tile/0/001", 404}, // beyond the log
      {"GET", "/tile/64/000", 404}, // no such level
      {"GET", "/tile/-1/000", 404},
      {"GET", "/tile/entries/000.p/9", 404}, // more entries than the log has
      {"GET", "/tile/0/%30%30%30", 404}, // percent-encoded digits are not canonical
      {"GET", "/../checkpoint", 404},
      {"POST", "/checkpoint", 405},
      {"DELETE", "/tile/0/000.p/1", 405},
    };
    List<String> failures = new ArrayList<>();
    for (Object[] r : rows) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + r[1]));
      b =
          r[0].equals("GET")
              ? b.GET()
              : b.method((String) r[0], HttpRequest.BodyPublishers.ofString("x"));
      HttpResponse<String> res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      if (res.statusCode() != (int) r[2])
        failures.add(r[0] + " " + r[1] + ": " + res.statusCode() + ", want " + r[2]);
    }
    // A request line longer than the server reads (4,096 bytes), over a raw socket.
    try (Socket s = new Socket("127.0.0.1", server.httpPort())) {
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String status = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
      if (!status.equals("HTTP/1.1 400"))
        failures.add("10 KB request line: " + status + ", want HTTP/1.1 400");
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    assertEquals(
        before,
        log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()),
        "a bad request changed the log");
  }

  @Test
  void anEmptyLogHasNothingToProve(@TempDir Path emptyDir) throws Exception {
    try (CustodyServer empty = CustodyServer.start(TestLogs.config(emptyDir), (n, t) -> {})) {
      ManagedChannel ch =
          ManagedChannelBuilder.forAddress("127.0.0.1", empty.grpcPort()).usePlaintext().build();
      try {
        var stub = TransparencyLogGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
        assertEquals(
            0, stub.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize());
        StatusRuntimeException e =
            assertThrows(
                StatusRuntimeException.class,
                () ->
                    stub.getInclusionProof(
                        GetInclusionProofRequest.newBuilder().setIndex(0).build()));
        assertEquals(Status.Code.OUT_OF_RANGE, e.getStatus().getCode());
        e =
            assertThrows(
                StatusRuntimeException.class,
                () ->
                    stub.getEntries(GetEntriesRequest.newBuilder().setStart(0).setEnd(1).build())
                        .hasNext());
        assertEquals(Status.Code.OUT_OF_RANGE, e.getStatus().getCode());
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
