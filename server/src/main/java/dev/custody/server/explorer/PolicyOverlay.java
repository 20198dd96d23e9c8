package dev.custody.server.explorer;

import dev.custody.chain.Digest;
import dev.custody.chain.Statement;
import dev.custody.oci.OciImage;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.PolicyException;
import dev.custody.verify.TrustPolicy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.LongFunction;

/** A trust policy pasted on a chain's page, judged as {@code custody verify} judges it. */
final class PolicyOverlay {
  private PolicyOverlay() {}

  /**
   * {@code c} with {@code policyJson} laid over it: the chain checked by the same {@link
   * ChainVerifier} as {@code custody verify}, against an image made of the chain's own digests (the
   * explorer has no image to compare: only the policy, the chain rules, the signatures and the
   * proofs are judged), its proofs against the served checkpoint.
   */
  static Views.Chain over(Views.Chain c, String policyJson, LongFunction<Statement> statementAt) {
    if (policyJson.length() > MAX_POLICY)
      throw new Explorer.BadRequest("a policy here is at most " + MAX_POLICY + " characters");
    Views.Overlay overlay;
    try {
      TrustPolicy policy = TrustPolicy.parse(policyJson.getBytes(StandardCharsets.UTF_8), null);
      List<Bundle.Entry> entries = new ArrayList<>();
      List<Digest> layerDigests = new ArrayList<>();
      List<Digest> diffIds = new ArrayList<>();
      Digest manifest = null;
      for (int i = 0; i < c.links().size(); i++) {
        Views.Proof p = c.proofs().get(i);
        byte[] leaf = Base64.getDecoder().decode(p.leaf());
        entries.add(
            new Bundle.Entry(
                p.index(), leaf, p.hashes().stream().map(Base64.getDecoder()::decode).toList()));
        Statement st = statementAt.apply(p.index());
        layerDigests.add(st.layerDigest());
        diffIds.add(st.diffId());
        manifest = st.manifestDigest();
      }
      ChainVerifier.Result r =
          new ChainVerifier(policy)
              .verify(
                  new OciImage(manifest, layerDigests, diffIds),
                  new Bundle(c.checkpoint(), entries),
                  null,
                  null);
      overlay =
          new Views.Overlay(
              policyJson,
              r.layers().stream().map(l -> l.failure().orElse(null)).toList(),
              r.logFailures(),
              r.ok(),
              null);
    } catch (PolicyException e) {
      overlay =
          new Views.Overlay(
              policyJson, List.of(), List.of(), false, "not a trust policy: " + e.getMessage());
    }
    return new Views.Chain(
        c.manifestDigest(),
        c.links(),
        c.proofs(),
        c.checkpoint(),
        c.otherTops(),
        c.warnings(),
        overlay);
  }

  /** The most a pasted policy may hold: the log's HTTP port reads at most 8 KiB of a request. */
  static final int MAX_POLICY = 8192;
}
