package dev.custody.server.read;

import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** Layer links as the log holds them: found by link ID or index, parsed from their leaves. */
public final class StoredLinks {
  /** A logged link with where it is and the leaf it is in. */
  public record Stored(long index, byte[] leaf, Leaf parsed, SignedLink link) {}

  private final LogStorage storage;

  public StoredLinks(LogStorage storage) {
    this.storage = storage;
  }

  /** Whether the log holds the link with this ID (one index read; the leaf is not read). */
  public boolean holds(byte[] linkId) {
    return storage.indexOfEntryId(linkId).isPresent();
  }

  public Optional<Stored> byId(byte[] linkId) {
    OptionalLong i = storage.indexOfEntryId(linkId);
    return i.isEmpty() ? Optional.empty() : at(i.getAsLong());
  }

  /**
   * A chain's walk down went wrong: longer than allowed, or a predecessor the log should hold is
   * missing.
   */
  public static final class BrokenChainException extends RuntimeException {
    private final boolean tooLong;

    BrokenChainException(String message, boolean tooLong) {
      super(message);
      this.tooLong = tooLong;
    }

    /**
     * True when the chain is longer than allowed; false when a predecessor is missing (data loss).
     */
    public boolean tooLong() {
      return tooLong;
    }
  }

  /**
   * The chain whose top link is {@code top}, layer 0 first, found by walking predecessors down.
   *
   * @throws BrokenChainException longer than {@code max} links, or a logged link's predecessor is
   *     missing
   */
  public List<Stored> chainEndingAt(Stored top, int max) {
    List<Stored> chain = new ArrayList<>();
    for (Stored cur = top; ; ) {
      chain.add(cur);
      if (!cur.link().statement().hasPredecessor()) break;
      if (chain.size() >= max)
        throw new BrokenChainException("chain is longer than " + max + " links", true);
      cur =
          byId(cur.link().statement().prevLinkId())
              .orElseThrow(
                  () ->
                      new BrokenChainException(
                          "a logged link's predecessor is missing from the log", false));
    }
    Collections.reverse(chain);
    return chain;
  }

  /** The link at an index, or empty if the entry there is not a layer link (an opaque entry). */
  public Optional<Stored> at(long index) {
    byte[] leaf =
        storage
            .leaf(index)
            .orElseThrow(() -> new StorageException("leaf " + index + " is missing"));
    try {
      Leaf l = Leaf.parse(leaf);
      return Optional.of(new Stored(index, leaf, l, SignedLink.parse(l.signedLink())));
    } catch (LinkException e) {
      return Optional.empty();
    }
  }
}
