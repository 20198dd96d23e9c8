package dev.custody.tools;

import dev.custody.chain.Digest;
import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.keys.Passwords;
import dev.custody.keys.Signers;
import dev.custody.logclient.LogClient;
import dev.custody.oci.OciImage;
import dev.custody.registry.AttachedBundles;
import dev.custody.registry.ImageReference;
import dev.custody.registry.RegistryClient;
import dev.custody.verify.Bundle;
import dev.custody.verify.ChainVerifier;
import dev.custody.verify.TrustPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "sign",
    mixinStandardHelpOptions = true,
    description = {
      "Sign the layers your team added to an image, on top of the link for the layer below.",
      "",
      "By reference: the image is read from its registry (manifest and config; the link's "
          + "repository is REF's), the links are submitted to the log, and --on may name the base "
          + "image you built on:",
      "  custody sign --key runtime-team.key --on registry.example/base/os:12 \\",
      "      registry.example/runtime/jre:17",
      "",
      "Before pushing: the same, with the image from a tarball (OCI archive, or docker save "
          + "of Docker 25+):",
      "  custody sign --key runtime-team.key --archive jre.tar \\",
      "      --on registry.example/base/os:12 registry.example/runtime/jre:17",
      "",
      "From an OCI layout, writing the links to a file for custody submit:",
      "  custody sign --layout ./oci --image runtime \\",
      "      --repository registry.example/runtime/jre --key runtime-team.key \\",
      "      --layers 1 --on base-links.txt --out runtime-links.txt"
    })
final class SignCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "REF",
      description =
          "The image by reference: "
              + "HOST[:PORT]/REPO[:TAG|@sha256:...]. With --archive, where it will be pushed")
  String ref;

  @ArgGroup(exclusive = false)
  ImageOptions image;

  @Option(
      names = "--repository",
      description =
          "With --layout: the fully expanded repository, no tag: registry.example/team/app")
  String repository;

  @Option(
      names = "--key",
      required = true,
      description =
          "Your signing key: a key file (custody keygen's, encrypted "
              + "or not; a cosign.key), file:PATH, or a key in a hardware token: pkcs11:token=…;object=…?module-path=…&pin-source=file:PIN_FILE "
              + "(RFC 7512). Passphrases from CUSTODY_PASSWORD (COSIGN_PASSWORD for a cosign key), else the terminal asks")
  String key;

  @Option(
      names = "--layers",
      description =
          "The layer or range you sign, e.g. 2 or 1-3. Default: every layer above --on's, "
              + "or all layers when there is no --on")
  String layers;

  @Option(
      names = "--on",
      description =
          "What you built on: a links file of the team below, or the base image's "
              + "reference (its link is taken from the bundle attached to it, else from the log); you sign on top of its top link")
  String on;

  @Option(
      names = "--prev-link-id",
      description = "Instead of --on: the link_id (hex) of the link below")
  String prevLinkId;

  @Option(
      names = "--policy",
      description =
          "With --on BASE_REF: verify the base image's chain under this policy before "
              + "signing on it (and choose by it when several chains name the base)")
  Path policy;

  @Option(names = "--out", description = "Where to write your signed links (required without REF)")
  Path out;

  @Option(
      names = "--no-submit",
      description = "With REF: only sign (and write --out); do not submit to the log")
  boolean noSubmit;

  @Mixin LogOptions conn;
  @Mixin RegistryOptions registry;

  /** The link to sign on: its id and the layer it is for. */
  private record Below(byte[] linkId, long layer, Digest chainId, String from) {}

  @Override
  public Integer call() throws Exception {
    ImageReference target = ref == null ? null : ImageReference.parse(ref);
    if (target == null && (out == null || repository == null || image == null)) {
      throw new IllegalArgumentException(
          "sign an image by reference (REF), or give --layout/--archive, --repository and --out");
    }
    if (target != null && repository != null && !repository.equals(target.repositoryName())) {
      throw new IllegalArgumentException(
          "--repository " + repository + " is not REF's repository " + target.repositoryName());
    }
    String repo = target != null ? target.repositoryName() : repository;
    OciImage img;
    if (image != null) {
      img = image.load();
      image.checkBlobs(img);
    } else {
      img = registry.resolve(ref).image();
    }
    LinkKeys.Signer signer = Signers.open(key, Passwords.standard());
    if (on != null && prevLinkId != null)
      throw new IllegalArgumentException("give --on or --prev-link-id, not both");
    Below below = null;
    if (on != null) {
      below = Files.isRegularFile(Path.of(on)) ? fromFile(Path.of(on)) : fromBaseImage(on);
    } else if (prevLinkId != null) {
      if (!prevLinkId.matches("[0-9a-f]{64}"))
        throw new IllegalArgumentException("--prev-link-id must be 64 lowercase hex");
      below = new Below(HexFormat.of().parseHex(prevLinkId), -1, null, "--prev-link-id");
    }
    int first;
    int last;
    if (layers != null) {
      String[] r = layers.split("-", 2);
      first = Integer.parseInt(r[0].strip());
      last = r.length == 2 ? Integer.parseInt(r[1].strip()) : first;
    } else {
      first = below == null ? 0 : (int) below.layer() + 1;
      last = img.layers() - 1;
    }
    if (first < 0 || last < first || last >= img.layers()) {
      throw new IllegalArgumentException(
          "layers " + first + "-" + last + " are not in an image of " + img.layers() + " layers");
    }
    if (first > 0 && below == null) {
      throw new IllegalArgumentException(
          "layer " + first + " stands on layer " + (first - 1) + ": give --on or --prev-link-id");
    }
    if (below != null && below.layer() >= 0 && below.layer() != first - 1) {
      throw new IllegalArgumentException(
          "the top link of "
              + below.from()
              + " is for layer "
              + below.layer()
              + ", not "
              + (first - 1));
    }
    List<Digest> chainIds = img.chainIds();
    if (below != null
        && below.chainId() != null
        && !below.chainId().equals(chainIds.get(first - 1))) {
      throw new IllegalArgumentException(
          "this image is not built on "
              + below.from()
              + ": its layers 0-"
              + (first - 1)
              + " differ from the ones the link below signs (chain_id "
              + chainIds.get(first - 1)
              + " here, "
              + below.chainId()
              + " there)");
    }
    byte[] prev = below == null ? Statement.NO_PREDECESSOR : below.linkId();
    List<SignedLink> signed = new ArrayList<>();
    for (int i = first; i <= last; i++) {
      Statement s =
          new Statement(
              repo,
              img.manifestDigest(),
              i,
              img.layerDigests().get(i),
              img.diffIds().get(i),
              chainIds.get(i),
              prev,
              System.currentTimeMillis());
      SignedLink link = SignedLink.sign(s, signer);
      signed.add(link);
      prev = link.linkId();
    }
    if (out != null) LinksFile.write(out, signed);
    for (SignedLink l : signed) {
      System.out.println(
          "signed layer "
              + l.statement().layerIndex()
              + " of "
              + repo
              + " link_id "
              + HexFormat.of().formatHex(l.linkId()));
    }
    if (target == null || noSubmit) {
      if (out != null)
        System.out.println(
            "wrote " + signed.size() + " link(s) to " + out + "; next: custody submit " + out);
      return 0;
    }
    List<LogClient.Outcome> outcomes;
    try (LogClient c = conn.client()) {
      // The image's new links in one call, each on the one below.
      outcomes = c.submitAll(signed.stream().map(SignedLink::encoded).toList());
    }
    for (int i = 0; i < signed.size(); i++) {
      LogClient.Outcome o = outcomes.get(i);
      if (o.refused().isPresent()) throw o.refused().get();
      LogClient.Submitted e = o.submitted().get();
      System.out.printf(
          "layer %d logged at index %d (checkpoint size %d)%s%n",
          signed.get(i).statement().layerIndex(),
          e.index(),
          e.treeSize(),
          e.duplicate() ? ", already logged" : "");
    }
    System.out.println("next: custody attach " + ref + (image != null ? " (after the push)" : ""));
    return 0;
  }

  private static Below fromFile(Path file) throws Exception {
    List<SignedLink> l = LinksFile.read(file);
    SignedLink top = l.get(l.size() - 1);
    return new Below(
        top.linkId(), top.statement().layerIndex(), top.statement().chainId(), file.toString());
  }

  /**
   * The top link of the base image's chain: from the bundles attached to it in its registry, else
   * from the log by its manifest digest. With --policy the chain must verify under it — the team
   * checks the layers below before signing on them; without, one chain must be unambiguous.
   */
  private Below fromBaseImage(String baseRef) throws Exception {
    RegistryClient.RemoteImage base = registry.resolve(baseRef);
    OciImage img = base.image();
    TrustPolicy p = policy == null ? null : TrustPolicy.read(policy);
    List<Bundle> chains = new ArrayList<>();
    String source = "the bundle attached to " + base.ref();
    for (AttachedBundles.Found f : AttachedBundles.find(registry.client(), base)) {
      if (f.bundle() != null) chains.add(f.bundle());
    }
    if (chains.isEmpty()) {
      source = "the log's chain for " + base.ref();
      try (LogClient c = conn.client()) {
        chains = c.chains(img.manifestDigest(), img.layers(), p);
      }
    }
    if (chains.isEmpty()) {
      throw new IllegalStateException(
          "the base image "
              + base.ref()
              + " has no chain: none attached in its registry and none "
              + "in the log for its manifest digest; its signers must sign it first");
    }
    Bundle chosen;
    if (p != null) {
      ChainVerifier v = new ChainVerifier(p);
      chosen = null;
      ChainVerifier.Result last = null;
      for (Bundle b : chains) {
        last = v.verify(img, b, null, null);
        if (last.ok()) {
          chosen = b;
          break;
        }
      }
      if (chosen == null) {
        throw new IllegalStateException(
            "the base image "
                + base.ref()
                + " does not verify under "
                + policy
                + ":\n"
                + last.report());
      }
    } else {
      chosen = LogClient.choose(img, chains, null);
      System.out.println(
          "note: the base image's chain was not verified (give --policy to check it before signing on it)");
    }
    for (Bundle.Entry e : chosen.links()) {
      SignedLink l = SignedLink.parse(Leaf.parse(e.leaf()).signedLink());
      if (l.statement().layerIndex() == img.layers() - 1
          && l.statement().manifestDigest().equals(img.manifestDigest())) {
        return new Below(l.linkId(), l.statement().layerIndex(), l.statement().chainId(), source);
      }
    }
    throw new LinkException(source + " has no link for its top layer " + (img.layers() - 1));
  }
}
