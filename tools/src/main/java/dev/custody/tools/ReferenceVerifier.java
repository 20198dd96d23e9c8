package dev.custody.tools;

import dev.custody.io.BoundedCache;
import dev.custody.logclient.LogClient;
import dev.custody.oci.OciImage;
import dev.custody.registry.AttachedBundles;
import dev.custody.registry.ImageReference;
import dev.custody.registry.Platform;
import dev.custody.registry.RegistryClient;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.CheckpointStore;
import dev.custody.verify.PolicyException;
import dev.custody.verify.Printable;
import dev.custody.verify.TrustPolicy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Verifies an image found by reference: its manifest and config from the registry, its chain from
 * the log (online) or from the bundles attached to it (offline), and the top link's repository
 * against the reference's. What {@code custody verify REF} and the verification service share.
 * Thread-safe when its parts are (the registry client and the log channel are).
 */
final class ReferenceVerifier {
  private final ChainVerifier chains;
  private final RegistryClient registry;
  private final Platform platform;
  private final LogClient log; // null when offline
  private final CheckpointStore store; // null: no checkpoint memory
  private final TrustPolicy policy;

  /**
   * A verdict: {@code failure} is null exactly when the image verified; {@code result} is null when
   * no chain was found to verify.
   */
  record Verdict(ChainVerifier.Result result, String failure) {
    boolean ok() {
      return failure == null;
    }
  }

  /**
   * @param log the log to ask for chains and consistency proofs, or null to use attached bundles
   *     only
   */
  ReferenceVerifier(
      TrustPolicy policy,
      RegistryClient registry,
      Platform platform,
      LogClient log,
      CheckpointStore store)
      throws PolicyException {
    this(policy, registry, platform, log, store, CACHE_BYTES);
  }

  /**
   * @param cacheBytes the most the image cache holds
   */
  ReferenceVerifier(
      TrustPolicy policy,
      RegistryClient registry,
      Platform platform,
      LogClient log,
      CheckpointStore store,
      long cacheBytes)
      throws PolicyException {
    this.resolved =
        new BoundedCache<>(
            RESOLVED_IMAGES, cacheBytes, ReferenceVerifier::weight, System::nanoTime);
    this.policy = policy;
    this.chains = new ChainVerifier(policy);
    this.registry = registry;
    this.platform = platform;
    this.log = log;
    this.store = store;
  }

  /**
   * Images already read, by repository, digest and platform: a manifest's bytes never change for
   * its digest. Bounded in bytes ({@code --cache-bytes}): manifests of up to 4 MiB each, chosen by
   * callers, must not hold the heap.
   */
  private final BoundedCache<String, RegistryClient.RemoteImage> resolved;

  /** Images remembered at most, whatever their size. */
  static final int RESOLVED_IMAGES = 4096;

  /** The image cache's default size in bytes. */
  static final long CACHE_BYTES = 64L << 20;

  /** What a remembered image weighs: its manifest, and its parsed digests. */
  private static long weight(RegistryClient.RemoteImage i) {
    return i.manifest().bytes().length + 256L * (i.image().layers() + 2) + 1024;
  }

  /** True when some signer of the policy may sign for {@code repository}. */
  boolean policyNames(String repository) {
    return policy.namesRepository(repository);
  }

  /**
   * The image {@code ref} names: a tag is asked afresh every time (a moved tag is seen at once),
   * the image behind a digest is read once and remembered.
   */
  RegistryClient.RemoteImage resolve(ImageReference ref) throws IOException {
    String digest = registry.digestOf(ref);
    String key = ref.repositoryName() + "@" + digest + " " + platform;
    Optional<RegistryClient.RemoteImage> known = resolved.get(key);
    if (known.isPresent()) return known.get();
    RegistryClient.RemoteImage image = registry.image(ref.withDigest(digest), platform);
    resolved.put(key, image, Long.MAX_VALUE / 4);
    return image;
  }

  /**
   * @param signedRepository the repository the image must have been signed for: the reference's
   *     own, or the original's when the reference is a mirror
   * @throws IOException the registry or the log refused: no verdict could be reached
   */
  Verdict check(RegistryClient.RemoteImage image, String signedRepository) throws IOException {
    return check(image.image(), image, signedRepository);
  }

  /** An image from disk, its chain from the log; no repository to check it against. */
  Verdict check(OciImage img, String signedRepository) throws IOException {
    return check(img, null, signedRepository);
  }

  /**
   * @param image where {@code img} came from, or null: then the chain must come from the log
   * @param signedRepository null: no repository check
   */
  private Verdict check(OciImage img, RegistryClient.RemoteImage image, String signedRepository)
      throws IOException {
    ChainVerifier.Result r = null;
    if (log == null) {
      // A registry that refuses the listing throws: never read as "nothing attached".
      List<String> unusable = new ArrayList<>();
      for (AttachedBundles.Found f : AttachedBundles.find(registry, image)) {
        if (f.bundle() == null) {
          unusable.add(f.artifactDigest() + ": " + f.problem());
          continue;
        }
        r = chains.verify(img, f.bundle(), store, null);
        if (r.ok()) break;
      }
      if (r == null) {
        return new Verdict(
            null,
            "no Custody bundle is attached to "
                + image.ref()
                + (unusable.isEmpty()
                    ? " (custody attach puts one there)"
                    : "; unusable: " + Printable.of(String.join("; ", unusable))));
      }
    } else {
      // A refusal is a LogException (an IOException): no verdict, never "unsigned".
      List<Bundle> candidates = log.chains(img.manifestDigest(), img.layers(), policy);
      if (candidates.isEmpty()) {
        return new Verdict(
            null,
            "no chain in the log ends in a link for image "
                + img.manifestDigest()
                + " at layer "
                + (img.layers() - 1));
      }
      for (Bundle b : candidates) {
        r = chains.verify(img, b, store, log.prover());
        if (r.ok()) break;
      }
    }
    if (!r.ok()) return new Verdict(r, firstFailure(r));
    // An image signed for one repository and re-tagged into another must not pass there as if its
    // signers had meant it for it.
    String signedFor = r.layers().get(img.layers() - 1).repository().orElse("");
    if (signedRepository != null && !signedFor.equals(signedRepository)) {
      return new Verdict(
          r,
          "the image "
              + img.manifestDigest()
              + " was signed for repository "
              + signedFor
              + ", not "
              + signedRepository
              + " (re-tagged or copied? give --signed-repository "
              + signedFor
              + " if this is a mirror of it)");
    }
    return new Verdict(r, null);
  }

  private static String firstFailure(ChainVerifier.Result r) {
    if (!r.logFailures().isEmpty()) return Printable.of(r.logFailures().get(0));
    for (ChainVerifier.LayerResult l : r.layers()) {
      if (!l.ok()) return "layer " + l.layer() + ": " + Printable.of(l.failure().orElse("failed"));
    }
    return "not verified";
  }
}
