package dev.custody.chain;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * OCI ChainID (image-spec config.md): ChainID(L0) = DiffID(L0); ChainID(L0..Ln) =
 * SHA-256(ChainID(L0..Ln-1) + " " + DiffID(Ln)), over the "sha256:hex" strings.
 */
public final class ChainIds {
  private ChainIds() {}

  public static Digest next(Digest previousChainId, Digest diffId) {
    return Digest.sha256Of((previousChainId + " " + diffId).getBytes(StandardCharsets.US_ASCII));
  }

  public static List<Digest> of(List<Digest> diffIds) {
    List<Digest> out = new ArrayList<>(diffIds.size());
    for (Digest d : diffIds) out.add(out.isEmpty() ? d : next(out.get(out.size() - 1), d));
    return out;
  }
}
