package dev.custody.logclient;

import com.google.protobuf.ByteString;
import dev.custody.api.ClientRetries;
import dev.custody.api.Nodes;
import dev.custody.api.v1.Chain;
import dev.custody.api.v1.ChainLookupGrpc;
import dev.custody.api.v1.FindLinksRequest;
import dev.custody.api.v1.GetChainRequest;
import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetEntriesRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.api.v1.LogEntry;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.ManifestSigner;
import dev.custody.api.v1.Refusal;
import dev.custody.api.v1.SubmitBatchRequest;
import dev.custody.api.v1.SubmitBatchResponse;
import dev.custody.api.v1.SubmitRequest;
import dev.custody.api.v1.SubmitResult;
import dev.custody.api.v1.TransparencyLogGrpc;
import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofException;
import dev.custody.merkle.Proofs;
import dev.custody.oci.OciImage;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.CheckpointStore;
import dev.custody.verify.PolicyException;
import dev.custody.verify.TlogProof;
import dev.custody.verify.TrustPolicy;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A Custody log over gRPC. Every answer that can be checked is checked before it is returned:
 * checkpoints against the log's pinned keys (and, with a {@link CheckpointStore}, for consistency
 * with the newest one seen before), inclusion and consistency proofs against signed roots. A busy
 * or restarting log is retried with backoff within the timeout (submitting again is harmless: the
 * log answers a duplicate with its first place). Thread-safe: one client per log, closed when done.
 *
 * <pre>{@code
 * try (LogClient log = LogClient.builder("log.example:7300").tls(caPem).trust(policy.logVerifier()).build()) {
 *   LogClient.Submitted s = log.submit(signedLink.encoded());       // its inclusion proof checked
 *   ChainVerifier.Result r = log.verify(OciImage.fromLayout(dir, "app"), policy);
 * }
 * }</pre>
 *
 * <p>One concept in one file, though long: the log's whole API as a Java program sees it, one
 * method per RPC, each with the checks its answer needs; the checks themselves live in the
 * verification core.
 */
public final class LogClient implements AutoCloseable {
  /** Chains fetched for one image at most: each costs a GetChain and a verification. */
  public static final int MAX_CANDIDATES = 16;

  /**
   * An entry in the log. {@code proof} proves it is in the tree of size {@code treeSize} that
   * {@code checkpoint} signs; both were checked when the client trusts the log's keys ({@link
   * Builder#trust}), else {@code checkpoint} is empty.
   */
  public record Submitted(
      long index,
      byte[] leaf,
      byte[] leafHash,
      boolean duplicate,
      long treeSize,
      Optional<SignedCheckpoint> checkpoint,
      List<byte[]> proof) {}

  private final ManagedChannel channel;
  private final Duration timeout;
  private final Optional<CheckpointVerifier> trust;
  private final Optional<CheckpointStore> store;

  private LogClient(Builder b, ManagedChannel channel) {
    this.channel = channel;
    this.timeout = b.timeout;
    this.trust = b.trust;
    this.store = b.store;
  }

  /**
   * @param target {@code host:port}, or a cluster's nodes as {@code host:port,host:port,...}
   */
  public static Builder builder(String target) {
    return new Builder(target, null);
  }

  /**
   * Over a channel of the caller's (in-process, or built with options of its own); {@link #close}
   * shuts it down.
   */
  public static Builder builder(ManagedChannel channel) {
    return new Builder(null, channel);
  }

  /**
   * Every default in one place: plaintext, 30 s per call with its retries, no pinned key, no
   * checkpoint memory.
   */
  public static final class Builder {
    private final String target;
    private final ManagedChannel channel;
    private Path tlsCa;
    private Path clientCert;
    private Path clientKey;
    private Duration timeout = Duration.ofSeconds(30);
    private Optional<CheckpointVerifier> trust = Optional.empty();
    private Optional<CheckpointStore> store = Optional.empty();

    private Builder(String target, ManagedChannel channel) {
      this.target = target;
      this.channel = channel;
    }

    /** Talk TLS, trusting the CA certificates in this PEM file. */
    public Builder tls(Path caPem) {
      this.tlsCa = caPem;
      return this;
    }

    /** A client certificate, for logs that want one to submit; needs {@link #tls}. */
    public Builder clientCertificate(Path certPem, Path pkcs8KeyPem) {
      this.clientCert = certPem;
      this.clientKey = pkcs8KeyPem;
      return this;
    }

    /** How long each call may take, retries with backoff included. */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /**
     * The log's origin and keys (from a trust policy: {@link TrustPolicy#logVerifier()}):
     * checkpoints are checked against them.
     */
    public Builder trust(CheckpointVerifier log) {
      this.trust = Optional.of(log);
      return this;
    }

    /**
     * Remember the newest checkpoint here, and take a newer one only with a consistency proof from
     * it.
     */
    public Builder checkpointStore(CheckpointStore store) {
      this.store = Optional.of(store);
      return this;
    }

    /**
     * @throws IllegalArgumentException a bad target, or TLS files that cannot be read
     */
    public LogClient build() {
      if (channel != null) return new LogClient(this, channel);
      if ((clientCert == null) != (clientKey == null))
        throw new IllegalArgumentException("a client certificate needs its key");
      if (clientCert != null && tlsCa == null)
        throw new IllegalArgumentException("a client certificate needs TLS");
      ChannelCredentials creds;
      if (tlsCa == null) {
        creds = InsecureChannelCredentials.create();
      } else {
        try {
          TlsChannelCredentials.Builder b =
              TlsChannelCredentials.newBuilder().trustManager(tlsCa.toFile());
          if (clientCert != null) b.keyManager(clientCert.toFile(), clientKey.toFile());
          creds = b.build();
        } catch (IOException e) {
          throw new IllegalArgumentException("cannot read the TLS files: " + e.getMessage(), e);
        }
      }
      return new LogClient(this, ClientRetries.apply(Nodes.channel(target, creds)).build());
    }
  }

  /** The log's stubs with this client's deadline, for calls this class does not wrap. */
  public TransparencyLogGrpc.TransparencyLogBlockingStub logStub() {
    return TransparencyLogGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public ChainLookupGrpc.ChainLookupBlockingStub lookupStub() {
    return ChainLookupGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The log's origin, keys and, in a cluster, the answering node's role. Not checked: compare it
   * with what you pinned.
   */
  public LogInfo info() throws LogException {
    return call("GetLogInfo", () -> logStub().getLogInfo(GetLogInfoRequest.getDefaultInstance()));
  }

  /**
   * Appends {@code entry} (a signed link's bytes, or any entry on a log that accepts opaque ones),
   * or finds it where it already is. With {@link Builder#trust}, the returned checkpoint and
   * inclusion proof are checked, and a store (if any) takes the checkpoint.
   */
  public Submitted submit(byte[] entry) throws LogException {
    LogEntry e =
        call(
            "Submit",
            () ->
                logStub()
                    .submit(
                        SubmitRequest.newBuilder().setEntry(ByteString.copyFrom(entry)).build()));
    byte[] leafHash = checkedLeafHash(e);
    InclusionProof p = e.getInclusionProof();
    List<byte[]> proof = hashes(p.getHashesList());
    if (trust.isEmpty()) {
      return new Submitted(
          e.getIndex(),
          e.getLeaf().toByteArray(),
          leafHash,
          e.getDuplicate(),
          p.getTreeSize(),
          Optional.empty(),
          proof);
    }
    SignedCheckpoint cp = accept(p.getCheckpoint().getSignedNote());
    verifyInclusion(e.getIndex(), leafHash, proof, cp.checkpoint());
    return new Submitted(
        e.getIndex(),
        e.getLeaf().toByteArray(),
        leafHash,
        e.getDuplicate(),
        cp.size(),
        Optional.of(cp),
        proof);
  }

  /** One entry of {@link #submitAll}: logged, or refused by the log with its reason. */
  public record Outcome(Optional<Submitted> submitted, Optional<LogException.Refused> refused) {
    public Outcome {
      if (submitted.isPresent() == refused.isPresent())
        throw new IllegalArgumentException("an outcome is logged or refused, not both");
    }
  }

  /** Entries in one SubmitBatch call, and their bytes: the log's limits. */
  static final int BATCH_ENTRIES = 1024;

  static final int BATCH_BYTES = 256 * 1024;

  /**
   * Appends {@code entries} in order (or finds those already logged) in as few SubmitBatch calls as
   * the log's limits allow (1,024 entries, 256 KiB a call): a whole chain, each link on the one
   * before, in one call. Each entry is answered alone; one the log refuses does not stop the rest.
   * With {@link Builder#trust}, each call's one checkpoint is checked (and a store takes it) and
   * every inclusion proof is checked against it before this returns.
   *
   * @return one outcome per entry, in order
   * @throws LogException when a whole call is refused (pushback that outlasted the retries, a
   *     malformed request) or its answer cannot be trusted
   */
  public List<Outcome> submitAll(List<byte[]> entries) throws LogException {
    List<Outcome> out = new ArrayList<>(entries.size());
    int from = 0;
    while (from < entries.size()) {
      int to = from;
      long bytes = 0;
      while (to < entries.size()
          && to - from < BATCH_ENTRIES
          && (to == from || bytes + entries.get(to).length <= BATCH_BYTES)) {
        bytes += entries.get(to).length;
        to++;
      }
      out.addAll(submitBatch(entries.subList(from, to), from));
      from = to;
    }
    return out;
  }

  private List<Outcome> submitBatch(List<byte[]> entries, int offset) throws LogException {
    SubmitBatchRequest.Builder req = SubmitBatchRequest.newBuilder();
    for (byte[] e : entries) req.addEntries(ByteString.copyFrom(e));
    SubmitBatchResponse r = call("SubmitBatch", () -> logStub().submitBatch(req.build()));
    if (r.getResultsCount() != entries.size()) {
      throw new LogException.Untrusted(
          "the log answered " + r.getResultsCount() + " results for " + entries.size() + " entries",
          null);
    }
    Optional<SignedCheckpoint> cp =
        trust.isPresent()
            ? Optional.of(accept(r.getCheckpoint().getSignedNote()))
            : Optional.empty();
    long treeSize = cp.map(SignedCheckpoint::size).orElse(r.getCheckpoint().getTreeSize());
    List<Outcome> out = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      SubmitResult result = r.getResults(i);
      if (result.hasRefused()) {
        Refusal why = result.getRefused();
        out.add(
            new Outcome(
                Optional.empty(),
                Optional.of(
                    new LogException.Refused(
                        "entry " + (offset + i),
                        Status.fromCodeValue(why.getCode()).withDescription(why.getMessage()),
                        null))));
        continue;
      }
      LogEntry e = result.getEntry();
      byte[] leafHash = checkedLeafHash(e);
      InclusionProof p = e.getInclusionProof();
      if (p.getTreeSize() != treeSize) {
        throw new LogException.Untrusted(
            "the log proved entry "
                + e.getIndex()
                + " against size "
                + p.getTreeSize()
                + ", not the batch's checkpoint of size "
                + treeSize,
            null);
      }
      List<byte[]> proof = hashes(p.getHashesList());
      if (cp.isPresent()) verifyInclusion(e.getIndex(), leafHash, proof, cp.get().checkpoint());
      out.add(
          new Outcome(
              Optional.of(
                  new Submitted(
                      e.getIndex(),
                      e.getLeaf().toByteArray(),
                      leafHash,
                      e.getDuplicate(),
                      treeSize,
                      cp,
                      proof)),
              Optional.empty()));
    }
    return out;
  }

  /**
   * The log's latest checkpoint, checked against its keys and, with a store, consistent with the
   * newest one seen before (which it then replaces). requires {@link Builder#trust}
   */
  public SignedCheckpoint checkpoint() throws LogException {
    return accept(
        call(
                "GetCheckpoint",
                () -> logStub().getCheckpoint(GetCheckpointRequest.getDefaultInstance()))
            .getSignedNote());
  }

  /**
   * The proof that the leaf at {@code index} is in the tree of {@code at}, checked against its
   * root.
   */
  public List<byte[]> inclusionProof(long index, byte[] leafHash, Checkpoint at)
      throws LogException {
    InclusionProof p =
        call(
            "GetInclusionProof",
            () ->
                logStub()
                    .getInclusionProof(
                        GetInclusionProofRequest.newBuilder()
                            .setIndex(index)
                            .setTreeSize(at.size())
                            .build()));
    List<byte[]> proof = hashes(p.getHashesList());
    verifyInclusion(index, leafHash, proof, at);
    return proof;
  }

  /**
   * The leaf at {@code index}, as the log stores it (its hash is what the tree holds).
   *
   * @throws LogException.Refused no entry at that index (OUT_OF_RANGE), or another refusal
   */
  public byte[] leaf(long index) throws LogException {
    return call(
        "GetEntries",
        () -> {
          Iterator<LogEntry> it =
              logStub()
                  .getEntries(
                      GetEntriesRequest.newBuilder().setStart(index).setEnd(index + 1).build());
          if (!it.hasNext())
            throw Status.OUT_OF_RANGE
                .withDescription("the log has no entry at index " + index)
                .asRuntimeException();
          LogEntry e = it.next();
          while (it.hasNext()) it.next(); // at most one; drain so the call ends cleanly
          if (e.getIndex() != index)
            throw Status.INTERNAL
                .withDescription("asked for entry " + index + ", the log sent " + e.getIndex())
                .asRuntimeException();
          return e.getLeaf().toByteArray();
        });
  }

  /**
   * The entry at {@code index} as a C2SP tlog-proof ({@code c2sp.org/tlog-proof@v1}) against the
   * log's latest checkpoint: the leaf as {@code extra}, the checkpoint with the cosignatures the
   * log gathered. Checked before it is returned: the checkpoint against the log's keys (and any
   * store), the proof against its root. requires {@link Builder#trust}
   */
  public TlogProof tlogProof(long index) throws LogException {
    SignedCheckpoint cp = checkpoint();
    if (index < 0 || index >= cp.size())
      throw new LogException.Refused(
          "GetEntries",
          Status.OUT_OF_RANGE.withDescription(
              "index " + index + " is not below the log's tree size " + cp.size()),
          null);
    byte[] leaf = leaf(index);
    List<byte[]> proof = inclusionProof(index, Hashes.leafHash(leaf), cp.checkpoint());
    return TlogProof.ofLeaf(leaf, index, proof, cp.note());
  }

  /**
   * The proof that {@code newer}'s tree extends {@code older}'s, checked against both roots.
   * requires older.size() <= newer.size()
   */
  public List<byte[]> consistencyProof(Checkpoint older, Checkpoint newer) throws LogException {
    if (older.size() > newer.size())
      throw new IllegalArgumentException("the older checkpoint is the larger");
    if (older.size() == 0 || older.size() == newer.size()) {
      checkConsistent(older, newer, List.of());
      return List.of();
    }
    List<byte[]> proof = rawConsistency(older.size(), newer.size());
    checkConsistent(older, newer, proof);
    return proof;
  }

  /**
   * The chains whose top link names this image at its top layer, oldest first, at most {@link
   * #MAX_CANDIDATES}. With a policy, only links by the keys it allows at the top layer are asked
   * for, so links by anyone else naming the image, however many, cannot crowd out the real chain;
   * if none of them signed it, the others' chains still say why the image fails. Not yet verified:
   * {@link ChainVerifier} (or {@link #verify}) does that.
   *
   * @param policy null to take every chain
   */
  public List<Bundle> chains(Digest manifest, int layers, TrustPolicy policy) throws LogException {
    List<FindLinksRequest> queries = new ArrayList<>();
    FindLinksRequest anyone =
        FindLinksRequest.newBuilder().setManifestDigest(manifest.toString()).build();
    if (policy == null) {
      queries.add(anyone);
    } else {
      Set<String> seen = new HashSet<>();
      for (TrustPolicy.Signer s : policy.signers()) {
        if (layers - 1 < s.minLayer()
            || layers - 1 > s.maxLayer()
            || !seen.add(HexFormat.of().formatHex(s.keyId()))) continue;
        queries.add(
            FindLinksRequest.newBuilder()
                .setManifestSigner(
                    ManifestSigner.newBuilder()
                        .setManifestDigest(manifest.toString())
                        .setKeyId(ByteString.copyFrom(s.keyId())))
                .build());
      }
    }
    TreeMap<Long, byte[]> tops = new TreeMap<>(); // log index -> link_id, oldest first
    collect(queries, layers, tops);
    if (tops.isEmpty() && policy != null) collect(List.of(anyone), layers, tops);
    List<Bundle> out = new ArrayList<>();
    for (byte[] top : tops.values()) {
      if (out.size() == MAX_CANDIDATES) break;
      out.add(
          bundleOf(
              call(
                  "GetChain",
                  () ->
                      lookupStub()
                          .getChain(
                              GetChainRequest.newBuilder()
                                  .setLinkId(ByteString.copyFrom(top))
                                  .build()))));
    }
    return out;
  }

  /**
   * The chain to ship with {@code image} as an offline bundle: the only one, or, when someone else
   * signed an image with this digest too, the first that verifies under {@code policy}.
   *
   * @param policy null when you expect one chain
   * @throws IllegalStateException no chain, or several and no policy to choose, or none that
   *     verifies
   */
  public Bundle bundle(OciImage image, TrustPolicy policy) throws LogException, PolicyException {
    return choose(image, chains(image.manifestDigest(), image.layers(), policy), policy);
  }

  /**
   * Of {@code chains} for {@code image}, the one to ship: the only one, or the first that verifies
   * under {@code policy}.
   *
   * @throws IllegalStateException no chain, or several and no policy to choose, or none that
   *     verifies
   */
  public static Bundle choose(OciImage image, List<Bundle> chains, TrustPolicy policy)
      throws PolicyException {
    if (chains.isEmpty())
      throw new IllegalStateException(
          "no chain in the log ends in a link for " + image.manifestDigest());
    if (chains.size() == 1) return chains.get(0);
    if (policy == null) {
      throw new IllegalStateException(
          chains.size()
              + " chains in the log name this image; give a policy to keep "
              + "the one your signers made");
    }
    ChainVerifier v = new ChainVerifier(policy);
    return chains.stream()
        .filter(x -> v.verify(image, x, null, null).ok())
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "none of the "
                        + chains.size()
                        + " chains for this image verifies under the policy"));
  }

  /**
   * Verifies {@code image}'s chain of custody under {@code policy}, its chain from the log: the
   * first candidate chain that verifies, or the last verdict; empty when no chain in the log ends
   * at the image. With a store, the checkpoint must be consistent with the newest seen before.
   */
  public Optional<ChainVerifier.Result> verify(OciImage image, TrustPolicy policy)
      throws LogException, PolicyException {
    ChainVerifier verifier = new ChainVerifier(policy);
    ChainVerifier.Result r = null;
    for (Bundle b : chains(image.manifestDigest(), image.layers(), policy)) {
      r = verifier.verify(image, b, store.orElse(null), prover());
      if (r.ok()) break;
    }
    return Optional.ofNullable(r);
  }

  /** Consistency proofs from this log, for a {@link CheckpointStore} (which checks them). */
  public CheckpointStore.ConsistencyProver prover() {
    return this::rawConsistency;
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }

  private List<byte[]> rawConsistency(long from, long to) throws LogException {
    return hashes(
        call(
                "GetConsistencyProof",
                () ->
                    logStub()
                        .getConsistencyProof(
                            GetConsistencyProofRequest.newBuilder()
                                .setFromSize(from)
                                .setToSize(to)
                                .build()))
            .getHashesList());
  }

  private SignedCheckpoint accept(String note) throws LogException {
    CheckpointVerifier log =
        trust.orElseThrow(
            () ->
                new IllegalStateException(
                    "checking checkpoints needs the log's keys: LogClient.Builder.trust(policy.logVerifier())"));
    Checkpoint cp;
    try {
      cp = log.verify(note);
    } catch (CheckpointException e) {
      throw new LogException.Untrusted(e.getMessage(), e);
    }
    if (store.isPresent()) {
      try {
        store.get().accept(log, cp, note, prover());
      } catch (CheckpointException e) {
        // The store asked this log for a consistency proof: a refusal is not evidence against it.
        if (e.getCause() instanceof LogException.Refused refused) throw refused;
        throw new LogException.Untrusted(e.getMessage(), e);
      } catch (IOException e) {
        throw new UncheckedIOException("the checkpoint store: " + e.getMessage(), e);
      }
    }
    return new SignedCheckpoint(cp, note);
  }

  private static void verifyInclusion(
      long index, byte[] leafHash, List<byte[]> proof, Checkpoint at) throws LogException {
    try {
      Proofs.verifyInclusion(index, at.size(), leafHash, proof, at.rootHash());
    } catch (ProofException e) {
      throw new LogException.Untrusted(
          "the log's inclusion proof for index "
              + index
              + " at size "
              + at.size()
              + " does not verify: "
              + e.getMessage(),
          e);
    }
  }

  private static void checkConsistent(Checkpoint older, Checkpoint newer, List<byte[]> proof)
      throws LogException {
    try {
      Proofs.verifyConsistency(
          older.size(), newer.size(), proof, older.rootHash(), newer.rootHash());
    } catch (ProofException e) {
      throw new LogException.Untrusted(
          "the log's tree at size "
              + newer.size()
              + " is not consistent with its tree at size "
              + older.size()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private void collect(List<FindLinksRequest> queries, int layers, TreeMap<Long, byte[]> tops)
      throws LogException {
    for (FindLinksRequest q : queries) {
      call(
          "FindLinks",
          () -> {
            var found = lookupStub().findLinks(q);
            while (found.hasNext()) {
              LogEntry e = found.next();
              try {
                SignedLink l = SignedLink.parse(Leaf.parse(e.getLeaf().toByteArray()).signedLink());
                if (l.statement().layerIndex() == layers - 1) tops.put(e.getIndex(), l.linkId());
              } catch (LinkException ignored) {
                // Not a link; lookups are only hints.
              }
            }
            return null;
          });
    }
  }

  private static Bundle bundleOf(Chain chain) {
    List<Bundle.Entry> links = new ArrayList<>();
    for (LogEntry e : chain.getLinksList()) {
      links.add(
          new Bundle.Entry(
              e.getIndex(),
              e.getLeaf().toByteArray(),
              hashes(e.getInclusionProof().getHashesList())));
    }
    return new Bundle(chain.getCheckpoint().getSignedNote(), links);
  }

  /** The entry's leaf hash, once checked to be the hash of its leaf. */
  private static byte[] checkedLeafHash(LogEntry e) throws LogException.Untrusted {
    byte[] leafHash = e.getLeafHash().toByteArray();
    if (!MessageDigest.isEqual(leafHash, Hashes.leafHash(e.getLeaf().toByteArray()))) {
      throw new LogException.Untrusted(
          "the log's leaf hash for index " + e.getIndex() + " is not the hash of its leaf", null);
    }
    return leafHash;
  }

  private static List<byte[]> hashes(List<ByteString> in) {
    return in.stream().map(ByteString::toByteArray).toList();
  }

  private static <T> T call(String what, Supplier<T> rpc) throws LogException {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      throw new LogException.Refused(what, e.getStatus(), e);
    }
  }
}
