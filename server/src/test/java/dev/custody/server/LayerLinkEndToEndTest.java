package dev.custody.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.custody.api.v1.Chain;
import dev.custody.api.v1.ChainLookupGrpc;
import dev.custody.api.v1.FindLinksRequest;
import dev.custody.api.v1.GetChainRequest;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.LinkRules;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.Proofs;
import dev.custody.testing.VectorChain;
import dev.custody.testing.Vectors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Layer links through a real server in its default mode: admission rules, lookups, GetChain. */
class LayerLinkEndToEndTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final JsonNode V = Vectors.json(Vectors.path("layer-links", "links.json"));

  @TempDir static Path dir;
  static CustodyServer server;
  static ManagedChannel channel;
  static TransparencyLogGrpc.TransparencyLogBlockingStub log;
  static ChainLookupGrpc.ChainLookupBlockingStub lookup;
  static CheckpointVerifier verifier;

  @BeforeAll
  static void start() throws Exception {
    server =
        CustodyServer.start(
            ServerConfig.builder(dir)
                .origin("links.custody.dev/log")
                .grpcPort(0)
                .httpPort(-1)
                .guard(TestLogs.PATIENT)
                .build(),
            (n, t) -> {});
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    log = TransparencyLogGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    lookup = ChainLookupGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    verifier = TestLogs.verifier(log.getLogInfo(GetLogInfoRequest.getDefaultInstance()));
  }

  @AfterAll
  static void stop() {
    channel.shutdownNow();
    server.close();
  }

  static LogEntry submit(byte[] link) {
    return log.submit(SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(link)).build());
  }

  static StatusRuntimeException refused(byte[] link) {
    return assertThrows(StatusRuntimeException.class, () -> submit(link));
  }

  /** Checks a GetChain answer the way a verifier would (minus the trust policy). */
  static List<SignedLink> verifyChain(Chain chain) throws Exception {
    Checkpoint cp = TestLogs.open(verifier, chain.getCheckpoint());
    List<SignedLink> links = new ArrayList<>();
    for (LogEntry e : chain.getLinksList()) {
      byte[] leaf = e.getLeaf().toByteArray();
      Proofs.verifyInclusion(
          e.getIndex(),
          cp.size(),
          Hashes.leafHash(leaf),
          TestLogs.hashes(e.getInclusionProof().getHashesList()),
          cp.rootHash());
      SignedLink l = SignedLink.parse(Leaf.parse(leaf).signedLink());
      l.verifySignature();
      assertEquals(links.size(), l.statement().layerIndex());
      if (links.isEmpty()) LinkRules.checkAlone(l.statement());
      else LinkRules.checkOnTop(links.get(links.size() - 1), l);
      links.add(l);
    }
    return links;
  }

  @Test
  void threeTeamVectorChainIsAdmittedAndServedWhole() throws Exception {
    // The vectors' chain with its ECDSA link signed again in low-S form (VectorChain says why).
    List<byte[]> linkBytes = new ArrayList<>();
    VectorChain.links(V).forEach(l -> linkBytes.add(l.encoded()));
    // The vector's own runtime link has a high s: refused whatever is below it.
    StatusRuntimeException highS =
        refused(HEX.parseHex(V.get("links").get(1).get("signed_link_hex").asText()));
    assertEquals(Status.Code.INVALID_ARGUMENT, highS.getStatus().getCode());
    assertTrue(
        highS.getStatus().getDescription().contains("low s"), highS.getStatus().getDescription());

    // Out of order: the runtime team's link before the base is logged.
    StatusRuntimeException early = refused(linkBytes.get(1));
    assertEquals(Status.Code.FAILED_PRECONDITION, early.getStatus().getCode());
    assertTrue(
        early.getStatus().getDescription().contains("predecessor"),
        early.getStatus().getDescription());

    List<LogEntry> logged = new ArrayList<>();
    for (byte[] b : linkBytes) {
      LogEntry e = submit(b);
      assertFalse(e.getDuplicate());
      Leaf leaf = Leaf.parse(e.getLeaf().toByteArray());
      assertArrayEquals(b, leaf.signedLink(), "the leaf carries the link exactly as submitted");
      assertTrue(leaf.logTimestampMs() > 1_700_000_000_000L, "the log stamps its own time");
      TestLogs.verifyInclusion(verifier, e.getLeafHash().toByteArray(), e.getInclusionProof());
      logged.add(e);
    }
    // The malleable twin of a logged ECDSA link, (r, n - s): as valid arithmetically, yet no second
    // link.
    long sizeBeforeTwin =
        log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
    StatusRuntimeException twin =
        refused(VectorChain.ecdsaTwin(SignedLink.parse(linkBytes.get(1))));
    assertEquals(Status.Code.INVALID_ARGUMENT, twin.getStatus().getCode());
    assertTrue(
        twin.getStatus().getDescription().contains("low s"), twin.getStatus().getDescription());
    assertEquals(
        sizeBeforeTwin, log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize());
    LogEntry again = submit(linkBytes.get(2));
    assertTrue(again.getDuplicate());
    assertEquals(logged.get(2).getIndex(), again.getIndex());
    assertEquals(
        logged.get(2).getLeaf(), again.getLeaf(), "a resubmission returns the original entry");

    Chain byManifest =
        lookup.getChain(
            GetChainRequest.newBuilder()
                .setManifestDigest(V.get("image").get("app_manifest_digest").asText())
                .build());
    List<SignedLink> chain = verifyChain(byManifest);
    assertEquals(3, chain.size());
    for (int i = 0; i < 3; i++) {
      assertEquals(
          V.get("image").get("chain_ids").get(i).asText(),
          chain.get(i).statement().chainId().toString());
    }
    Chain byTop =
        lookup.getChain(
            GetChainRequest.newBuilder()
                .setLinkId(ByteString.copyFrom(chain.get(2).linkId()))
                .build());
    assertEquals(
        byManifest.getLinksList().stream().map(LogEntry::getIndex).toList(),
        byTop.getLinksList().stream().map(LogEntry::getIndex).toList());

    // Lookups: by key, by repository, by predecessor.
    byte[] baseKey = chain.get(0).keyId();
    assertEquals(
        List.of(logged.get(0).getIndex()),
        indices(
            lookup.findLinks(
                FindLinksRequest.newBuilder().setKeyId(ByteString.copyFrom(baseKey)).build())));
    assertEquals(
        List.of(logged.get(1).getIndex()),
        indices(
            lookup.findLinks(
                FindLinksRequest.newBuilder()
                    .setRepository("registry.example/runtime/jre")
                    .build())));
    assertEquals(
        List.of(logged.get(2).getIndex()),
        indices(
            lookup.findLinks(
                FindLinksRequest.newBuilder()
                    .setPrevLinkId(ByteString.copyFrom(chain.get(1).linkId()))
                    .build())));

    // The invalid vectors: now that link 0 is logged every one is refused, each for its reason.
    for (JsonNode c : V.get("invalid")) {
      long sizeBefore = log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize();
      byte[] bad = HEX.parseHex(c.get("signed_link_hex").asText());
      StatusRuntimeException e = refused(bad);
      String reason = c.get("reason").asText();
      assertEquals(
          Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), reason + ": " + e.getStatus());
      if (reason.startsWith("predecessor not in the log")) {
        // This vector's signature has a high s (refused above); in its low-S form the missing
        // predecessor shows.
        assertTrue(
            e.getStatus().getDescription().contains("low s"), e.getStatus().getDescription());
        StatusRuntimeException missing = refused(VectorChain.ecdsaTwin(SignedLink.parse(bad)));
        assertEquals(
            Status.Code.FAILED_PRECONDITION,
            missing.getStatus().getCode(),
            reason + ": " + missing.getStatus());
      }
      assertEquals(
          sizeBefore,
          log.getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getTreeSize(),
          reason);
    }
    // An opaque entry is not a link in this mode.
    assertEquals(Status.Code.INVALID_ARGUMENT, refused("hello".getBytes()).getStatus().getCode());
    assertEquals(
        Status.Code.NOT_FOUND,
        assertThrows(
                StatusRuntimeException.class,
                () ->
                    lookup.getChain(
                        GetChainRequest.newBuilder()
                            .setManifestDigest("sha256:" + "0".repeat(64))
                            .build()))
            .getStatus()
            .getCode());
    assertEquals(
        Status.Code.INVALID_ARGUMENT,
        assertThrows(
                StatusRuntimeException.class,
                () ->
                    lookup.getChain(
                        GetChainRequest.newBuilder().setManifestDigest("sha256:XYZ").build()))
            .getStatus()
            .getCode());
  }

  @Test
  void aThousandLinksFromConcurrentSignersAllFormVerifiableChains() throws Exception {
    int images = 250;
    int layers = 4;
    LinkKeys.Signer[] teams = new LinkKeys.Signer[layers];
    for (int t = 0; t < layers; t++) {
      teams[t] =
          LinkKeys.generate(
              t % 2 == 0 ? LinkKeys.Scheme.ED25519 : LinkKeys.Scheme.ECDSA_P256_SHA256);
    }
    ExecutorService signers = Executors.newFixedThreadPool(16);
    List<Future<Digest>> tops = new ArrayList<>();
    for (int img = 0; img < images; img++) {
      int n = img;
      tops.add(
          signers.submit(
              () -> {
                byte[] prev = Statement.NO_PREDECESSOR;
                Digest chainId = null;
                Digest manifest = null;
                for (int layer = 0; layer < layers; layer++) {
                  Digest diff = Digest.sha256Of(("image " + n + " layer " + layer).getBytes());
                  chainId = chainId == null ? diff : ChainIds.next(chainId, diff);
                  manifest = Digest.sha256Of(("manifest " + n + " up to " + layer).getBytes());
                  Statement s =
                      new Statement(
                          "registry.example/load/img" + n,
                          manifest,
                          layer,
                          Digest.sha256Of(("blob " + n + "/" + layer).getBytes()),
                          diff,
                          chainId,
                          prev,
                          System.currentTimeMillis());
                  SignedLink link = SignedLink.sign(s, teams[layer]);
                  submit(link.encoded());
                  prev = link.linkId();
                }
                return manifest;
              }));
    }
    int verified = 0;
    for (Future<Digest> f : tops) {
      Chain c =
          lookup.getChain(
              GetChainRequest.newBuilder()
                  .setManifestDigest(f.get(120, TimeUnit.SECONDS).toString())
                  .build());
      assertEquals(layers, verifyChain(c).size());
      verified++;
    }
    signers.shutdown();
    assertEquals(images, verified);
  }

  private static List<Long> indices(Iterator<LogEntry> it) {
    List<Long> out = new ArrayList<>();
    it.forEachRemaining(e -> out.add(e.getIndex()));
    return out;
  }
}
