package dev.custody.server.api;

import com.google.protobuf.ByteString;
import dev.custody.api.v1.Chain;
import dev.custody.api.v1.ChainLookupGrpc;
import dev.custody.api.v1.FindLinksRequest;
import dev.custody.api.v1.GetChainRequest;
import dev.custody.api.v1.LogEntry;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkException;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.server.read.LinkIndex;
import dev.custody.server.read.LogReader;
import dev.custody.server.read.StoredLinks;
import dev.custody.server.sequencer.Sequencer;
import dev.custody.server.witness.Cosigning;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Executor;

/**
 * custody.v1.ChainLookup: finding links and whole chains. Reads only, against the published head;
 * what it returns is a hint that clients verify, so it may be incomplete but never unverifiable.
 */
public final class ChainLookupService extends ChainLookupGrpc.ChainLookupImplBase {
  public static final int MAX_LINKS_PER_CALL = 1000;

  /** More layers than any real image has (OCI runtimes stop near 128); bounds the walk down. */
  public static final int MAX_CHAIN_LENGTH = 1000;

  private final LinkIndex index;
  private final StoredLinks links;
  private final LogReader reader;
  private final Sequencer sequencer;
  private final Cosigning cosigning;
  private final Executor worker;

  /**
   * @param worker sends FindLinks answers as the client's flow-control window allows
   */
  public ChainLookupService(
      LinkIndex index,
      StoredLinks links,
      LogReader reader,
      Sequencer sequencer,
      Cosigning cosigning,
      Executor worker) {
    this.worker = worker;
    this.index = index;
    this.links = links;
    this.reader = reader;
    this.sequencer = sequencer;
    this.cosigning = cosigning;
  }

  @Override
  public void getChain(GetChainRequest req, StreamObserver<Chain> out) {
    try {
      StoredLinks.Stored top =
          switch (req.getTopCase()) {
            case LINK_ID ->
                links
                    .byId(linkId(req.getLinkId(), "link_id"))
                    .orElseThrow(() -> notFound("no link with that link_id is in this log"));
            case MANIFEST_DIGEST -> topFor(digest(req.getManifestDigest()));
            default ->
                throw TransparencyLogService.invalid("set either link_id or manifest_digest");
          };
      List<StoredLinks.Stored> chain;
      try {
        chain = links.chainEndingAt(top, MAX_CHAIN_LENGTH);
      } catch (StoredLinks.BrokenChainException e) {
        throw (e.tooLong() ? Status.FAILED_PRECONDITION : Status.DATA_LOSS)
            .withDescription(e.getMessage())
            .asRuntimeException();
      }
      // Prove against the newest checkpoint the witnesses cosigned, when it already holds the
      // chain.
      long topIndex = chain.get(chain.size() - 1).index();
      Cosigning.Served cosigned = cosigning.withQuorum();
      Cosigning.Served against =
          cosigned != null && topIndex < cosigned.checkpoint().size()
              ? cosigned
              : cosigning.served();
      SignedCheckpoint cp = against.checkpoint();
      Chain.Builder b =
          Chain.newBuilder().setCheckpoint(TransparencyLogService.checkpoint(against));
      for (StoredLinks.Stored s : chain) {
        if (s.index() >= cp.size())
          throw Status.UNAVAILABLE
              .withDescription("chain changed during the call; retry")
              .asRuntimeException();
        b.addLinks(
            TransparencyLogService.entry(s.index(), s.leaf(), Hashes.leafHash(s.leaf()))
                .setInclusionProof(TransparencyLogService.inclusion(reader, s.index(), cp)));
      }
      TransparencyLogService.respond(out, b.build());
    } catch (RuntimeException e) {
      Statuses.fail(out, e);
    }
  }

  @Override
  public void findLinks(FindLinksRequest req, StreamObserver<LogEntry> out) {
    try {
      if (req.getStartIndex() < 0) throw TransparencyLogService.invalid("start_index is negative");
      long size = sequencer.head().size();
      List<Long> indices =
          switch (req.getKeyCase()) {
            case LINK_ID ->
                links
                    .byId(linkId(req.getLinkId(), "link_id"))
                    .map(s -> List.of(s.index()))
                    .orElse(List.of());
            case MANIFEST_DIGEST ->
                index.find(
                    LinkIndex.manifest(digest(req.getManifestDigest())),
                    req.getStartIndex(),
                    MAX_LINKS_PER_CALL);
            case KEY_ID ->
                index.find(
                    LinkIndex.keyId(linkId(req.getKeyId(), "key_id")),
                    req.getStartIndex(),
                    MAX_LINKS_PER_CALL);
            case REPOSITORY ->
                index.find(
                    LinkIndex.repository(req.getRepository()),
                    req.getStartIndex(),
                    MAX_LINKS_PER_CALL);
            case PREV_LINK_ID ->
                index.find(
                    LinkIndex.successorsOf(linkId(req.getPrevLinkId(), "prev_link_id")),
                    req.getStartIndex(),
                    MAX_LINKS_PER_CALL);
            case MANIFEST_SIGNER ->
                index.find(
                    LinkIndex.manifestSigner(
                        digest(req.getManifestSigner().getManifestDigest()),
                        linkId(req.getManifestSigner().getKeyId(), "manifest_signer.key_id")),
                    req.getStartIndex(),
                    MAX_LINKS_PER_CALL);
            default ->
                throw TransparencyLogService.invalid(
                    "set one of link_id, manifest_digest, key_id, repository, prev_link_id, manifest_signer");
          };
      List<Long> visible =
          indices.stream().filter(i -> i >= req.getStartIndex() && i < size).toList();
      new EntryStream(
              (ServerCallStreamObserver<LogEntry>) out, reader, worker, EntryStream.of(visible))
          .begin();
    } catch (RuntimeException e) {
      Statuses.fail(out, e);
    }
  }

  /**
   * The top of the image's chain: of the links naming the manifest, one at the highest layer, the
   * first logged. Two seeks, however many links name it (a flood of junk links costs nothing here).
   */
  private StoredLinks.Stored topFor(Digest manifest) {
    long size = sequencer.head().size();
    OptionalLong layer = index.topLayerOf(manifest);
    if (layer.isEmpty()) throw notFound("no link in this log names manifest " + manifest);
    List<Long> first = index.find(LinkIndex.manifestAtLayer(manifest, layer.getAsLong()), 0, 1);
    if (first.isEmpty() || first.get(0) >= size) {
      throw Status.UNAVAILABLE
          .withDescription("that chain is being logged right now; retry")
          .asRuntimeException();
    }
    return links
        .at(first.get(0))
        .orElseThrow(
            () ->
                Status.DATA_LOSS
                    .withDescription("a looked-up link is missing from the log")
                    .asRuntimeException());
  }

  private static byte[] linkId(ByteString b, String field) {
    if (b.size() != 32)
      throw TransparencyLogService.invalid(
          field + " is " + b.size() + " bytes; it is a 32-byte SHA-256");
    return b.toByteArray();
  }

  private static Digest digest(String s) {
    try {
      return Digest.parse(s);
    } catch (LinkException e) {
      throw TransparencyLogService.invalid("manifest_digest: " + e.getMessage());
    }
  }

  private static StatusRuntimeException notFound(String msg) {
    return Status.NOT_FOUND.withDescription(msg).asRuntimeException();
  }
}
