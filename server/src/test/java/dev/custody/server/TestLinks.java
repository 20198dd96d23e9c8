package dev.custody.server;

import com.google.protobuf.ByteString;
import dev.custody.chain.ChainIds;
import dev.custody.chain.Digest;
import dev.custody.chain.LinkKeys;
import dev.custody.chain.SignedLink;
import dev.custody.chain.Statement;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Real signed layer links for server tests, one key per test JVM. */
final class TestLinks {
  private TestLinks() {}

  private static final LinkKeys.Signer KEY = LinkKeys.generate(LinkKeys.Scheme.ED25519);

  private static Digest d(int tag, int i) {
    return Digest.sha256Of(ByteBuffer.allocate(8).putInt(tag).putInt(i).array());
  }

  /** A valid bottom-layer link, distinct for each {@code i}. */
  static ByteString layerZero(int i) {
    Digest diff = d(3, i);
    return ByteString.copyFrom(
        SignedLink.sign(
                new Statement(
                    "registry.example/test/app",
                    d(1, i),
                    0,
                    d(2, i),
                    diff,
                    diff,
                    Statement.NO_PREDECESSOR,
                    1_764_288_000_000L),
                KEY)
            .encoded());
  }

  /**
   * A valid bottom-layer link of {@code repository} by {@code key}, distinct for each {@code i}.
   */
  static ByteString layerZero(String repository, LinkKeys.Signer key, int i) {
    Digest diff = d(5, i);
    return ByteString.copyFrom(
        SignedLink.sign(
                new Statement(
                    repository,
                    d(4, i),
                    0,
                    d(6, i),
                    diff,
                    diff,
                    Statement.NO_PREDECESSOR,
                    1_764_288_000_000L),
                key)
            .encoded());
  }

  /** A valid layer-1 link whose predecessor was never logged. */
  static ByteString onUnknownPredecessor() {
    Digest diff = d(3, 7);
    return ByteString.copyFrom(
        SignedLink.sign(
                new Statement(
                    "registry.example/test/app",
                    d(1, 7),
                    1,
                    d(2, 7),
                    diff,
                    ChainIds.of(List.of(d(3, 6), diff)).get(1),
                    d(9, 9).value(),
                    1_764_288_000_000L),
                KEY)
            .encoded());
  }

  /**
   * The links of one image of {@code layers} layers, bottom first, each on the one below: a whole
   * chain, distinct for each {@code tag}.
   */
  static List<ByteString> chain(int tag, int layers) {
    List<Digest> diffs = new ArrayList<>();
    for (int k = 0; k < layers; k++) diffs.add(d(100 + tag, k));
    List<Digest> chainIds = ChainIds.of(diffs);
    List<ByteString> out = new ArrayList<>();
    byte[] below = Statement.NO_PREDECESSOR;
    for (int k = 0; k < layers; k++) {
      SignedLink link =
          SignedLink.sign(
              new Statement(
                  "registry.example/test/chain",
                  d(200 + tag, 0),
                  k,
                  d(300 + tag, k),
                  diffs.get(k),
                  chainIds.get(k),
                  below,
                  1_764_288_000_000L),
              KEY);
      out.add(ByteString.copyFrom(link.encoded()));
      below = link.linkId();
    }
    return out;
  }

  static ByteString flipLastByte(ByteString b) {
    byte[] a = b.toByteArray();
    a[a.length - 1] ^= 1;
    return ByteString.copyFrom(a);
  }
}
