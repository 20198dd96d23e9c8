package dev.custody.tools;

import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import dev.custody.oci.OciImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "sign", mixinStandardHelpOptions = true,
    description = {"Sign the layers your team added to an image, on top of the link for the layer below.",
        "Reads the image from an OCI image layout directory (as umoci, skopeo or buildah make), checks each",
        "layer blob against its digest and diff_id, and writes the signed links to --out, one per line.",
        "",
        "  custody sign --layout ./oci --image runtime --repository registry.example/runtime/jre \\",
        "      --key runtime-team.key --layers 1 --on base-links.txt --out runtime-links.txt"})
final class SignCommand implements Callable<Integer> {
  @Option(names = "--layout", required = true, description = "OCI image layout directory")
  Path layout;

  @Option(names = "--image", required = true, description = "Tag (org.opencontainers.image.ref.name) or manifest digest")
  String image;

  @Option(names = "--repository", required = true, description = "Fully expanded repository, no tag: registry.example/team/app")
  String repository;

  @Option(names = "--key", required = true, description = "Your private key (custody keygen)")
  Path key;

  @Option(names = "--layers", description = "The layer or range you sign, e.g. 2 or 1-3. Default: every layer above --on's, "
      + "or all layers when there is no --on")
  String layers;

  @Option(names = "--on", description = "Links file of the team below; you sign on top of its last link")
  Path on;

  @Option(names = "--prev-link-id", description = "Instead of --on: the link_id (hex) of the link below")
  String prevLinkId;

  @Option(names = "--out", required = true, description = "Where to write your signed links")
  Path out;

  @Override public Integer call() throws Exception {
    OciImage img = OciImage.fromLayout(layout, image);
    img.checkLayerBlobs(layout);
    LinkKeys.Signer signer = LinkKeys.readPrivateKeyPem(dev.custody.io.DurableFiles.readPrivate(key));
    byte[] prev = Statement.NO_PREDECESSOR;
    long below = -1;
    if (on != null && prevLinkId != null) throw new IllegalArgumentException("give --on or --prev-link-id, not both");
    if (on != null) {
      List<SignedLink> l = LinksFile.read(on);
      SignedLink top = l.get(l.size() - 1);
      prev = top.linkId();
      below = top.statement().layerIndex();
    } else if (prevLinkId != null) {
      if (!prevLinkId.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("--prev-link-id must be 64 lowercase hex");
      prev = HexFormat.of().parseHex(prevLinkId);
    }
    int first;
    int last;
    if (layers != null) {
      String[] r = layers.split("-", 2);
      first = Integer.parseInt(r[0].strip());
      last = r.length == 2 ? Integer.parseInt(r[1].strip()) : first;
    } else {
      first = (int) below + 1;
      last = img.layers() - 1;
    }
    if (first < 0 || last < first || last >= img.layers()) {
      throw new IllegalArgumentException("layers " + first + "-" + last + " are not in an image of " + img.layers() + " layers");
    }
    if (first > 0 && on == null && prevLinkId == null) {
      throw new IllegalArgumentException("layer " + first + " stands on layer " + (first - 1) + ": give --on or --prev-link-id");
    }
    if (on != null && below != first - 1) {
      throw new IllegalArgumentException("the last link in " + on + " is for layer " + below + ", not " + (first - 1));
    }
    List<Digest> chainIds = img.chainIds();
    List<SignedLink> signed = new ArrayList<>();
    for (int i = first; i <= last; i++) {
      Statement s = new Statement(repository, img.manifestDigest(), i, img.layerDigests().get(i), img.diffIds().get(i),
          chainIds.get(i), prev, System.currentTimeMillis());
      SignedLink link = SignedLink.sign(s, signer);
      signed.add(link);
      prev = link.linkId();
    }
    LinksFile.write(out, signed);
    for (SignedLink l : signed) {
      System.out.println("signed layer " + l.statement().layerIndex() + " of " + repository + " link_id "
          + HexFormat.of().formatHex(l.linkId()));
    }
    System.out.println("wrote " + signed.size() + " link(s) to " + out + "; next: custody submit " + out);
    return 0;
  }
}
