package dev.custody.bench;

import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.LinkVerifier;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.checkpoint.Checkpoint;
import dev.custody.merkle.CompactRange;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofBuilder;
import dev.custody.note.Ed25519NoteKeys;
import dev.custody.note.SignedNote;
import dev.custody.oci.OciImage;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.TrustPolicy;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The verification ceilings: link signature checks per second on one core (Ed25519 and ECDSA P-256,
 * parse included), and the time to verify a ten-layer chain offline from a bundle.
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description =
        "Single-core link verification rates and offline verification time of a ten-layer chain.")
final class VerifyRates implements Callable<Integer> {
  @Option(
      names = "--duration",
      defaultValue = "5",
      description = "Seconds per measurement (after as long a warm-up). Default: ${DEFAULT-VALUE}")
  int seconds;

  @Override
  public Integer call() throws Exception {
    System.out.printf(
        "verify: one thread, %d s warm-up and %d s measured each%n", seconds, seconds);
    for (LinkVerifier v : List.of(LinkVerifier.fastest(), LinkVerifier.bouncyCastle())) {
      Runnable ed25519 = Ceilings.ed25519Verification(v);
      System.out.printf(
          "%-40s %10.0f verifications/s%n", "raw Ed25519 (" + v.name() + ")", rate(ed25519::run));
      for (LinkKeys.Scheme scheme : LinkKeys.Scheme.values()) {
        byte[] link =
            SignedLink.sign(
                    statement(
                        0,
                        Statement.NO_PREDECESSOR,
                        Digest.sha256Of(new byte[1]),
                        Digest.sha256Of(new byte[1])),
                    LinkKeys.generate(scheme))
                .encoded();
        double rate = rate(() -> SignedLink.parse(link).verifySignature(v));
        System.out.printf(
            "%-40s %10.0f links/s%n",
            "parse + verify " + scheme.label() + " (" + v.name() + ")", rate);
      }
    }

    // A ten-layer chain, each layer by another Ed25519 team, logged among 10,000 other leaves.
    int layers = 10;
    List<LinkKeys.Signer> teams = new ArrayList<>();
    List<Digest> diffIds = new ArrayList<>();
    List<Digest> layerDigests = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      teams.add(LinkKeys.generate(LinkKeys.Scheme.ED25519));
      diffIds.add(Digest.sha256Of(("diff " + i).getBytes(StandardCharsets.UTF_8)));
      layerDigests.add(Digest.sha256Of(("blob " + i).getBytes(StandardCharsets.UTF_8)));
    }
    Digest manifest = Digest.sha256Of("manifest".getBytes(StandardCharsets.UTF_8));
    List<Digest> chainIds = ChainIds.of(diffIds);
    List<byte[]> leaves = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) leaves.add(("filler " + i).getBytes(StandardCharsets.UTF_8));
    byte[] prev = Statement.NO_PREDECESSOR;
    for (int i = 0; i < layers; i++) {
      Statement s =
          new Statement(
              "registry.example/bench/app",
              manifest,
              i,
              layerDigests.get(i),
              diffIds.get(i),
              chainIds.get(i),
              prev,
              1_764_288_000_000L);
      SignedLink l = SignedLink.sign(s, teams.get(i));
      prev = l.linkId();
      leaves.add(new Leaf(1_764_288_000_000L, l.encoded()).encode());
    }
    List<byte[]> hashes = leaves.stream().map(Hashes::leafHash).toList();
    CompactRange r = CompactRange.empty();
    Map<Long, byte[]> nodes = new HashMap<>();
    for (byte[] h : hashes)
      r = r.append(h, (lv, idx, hash) -> nodes.put(((long) lv << 40) | idx, hash));
    ProofBuilder pb = new ProofBuilder((lv, idx) -> nodes.get(((long) lv << 40) | idx));
    Ed25519NoteKeys.Signer log =
        Ed25519NoteKeys.generate("bench.custody.dev/log", new SecureRandom());
    int size = leaves.size();
    String note = SignedNote.sign(new Checkpoint(log.name(), size, r.root()).text(), log).format();
    List<Bundle.Entry> entries = new ArrayList<>();
    for (int i = size - layers; i < size; i++)
      entries.add(new Bundle.Entry(i, leaves.get(i), pb.inclusion(i, size)));
    Bundle bundle = Bundle.parse(new Bundle(note, entries).toJson());
    StringBuilder policy =
        new StringBuilder(
            "{\"log\":{\"origin\":\""
                + log.name()
                + "\",\"verifier_key\":\""
                + log.verifier().vkey()
                + "\"},\"signers\":[");
    for (int i = 0; i < layers; i++) {
      policy
          .append(i > 0 ? "," : "")
          .append("{\"name\":\"team ")
          .append(i)
          .append("\",\"key_id\":\"")
          .append(HexFormat.of().formatHex(Hashes.sha256(teams.get(i).publicKey())))
          .append("\",\"layers\":{\"min\":")
          .append(i)
          .append(",\"max\":")
          .append(i)
          .append("}}");
    }
    ChainVerifier v =
        new ChainVerifier(
            TrustPolicy.parse(policy.append("]}").toString().getBytes(StandardCharsets.UTF_8)));
    OciImage image = new OciImage(manifest, layerDigests, diffIds);
    if (!v.verify(image, bundle, null, null).ok())
      throw new AssertionError(v.verify(image, bundle, null, null).report());
    double perSecond =
        rate(
            () -> {
              if (!v.verify(image, Bundle.parse(bundle.toJson()), null, null).ok())
                throw new AssertionError();
            });
    System.out.printf(
        "%-28s %10.3f ms (bundle JSON parse included; %.0f chains/s)%n",
        "verify 10-layer chain offline", 1000 / perSecond, perSecond);
    return 0;
  }

  private interface Op {
    void run() throws Exception;
  }

  private double rate(Op op) throws Exception {
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < end) op.run();
    long n = 0;
    long t0 = System.nanoTime();
    end = t0 + seconds * 1_000_000_000L;
    long now;
    do {
      op.run();
      n++;
      now = System.nanoTime();
    } while (now < end);
    return n / ((now - t0) / 1e9);
  }

  private static Statement statement(int layer, byte[] prev, Digest diff, Digest chain) {
    return new Statement(
        "registry.example/bench/app",
        Digest.sha256Of(new byte[] {9}),
        layer,
        Digest.sha256Of(new byte[] {8}),
        diff,
        chain,
        prev,
        1_764_288_000_000L);
  }
}
