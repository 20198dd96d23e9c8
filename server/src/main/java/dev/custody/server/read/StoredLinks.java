package dev.custody.server.read;

import dev.custody.chain.Leaf;
import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.server.storage.LogStorage;
import dev.custody.server.storage.StorageException;
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

  public Optional<Stored> byId(byte[] linkId) {
    OptionalLong i = storage.indexOfEntryId(linkId);
    return i.isEmpty() ? Optional.empty() : at(i.getAsLong());
  }

  /** The link at an index, or empty if the entry there is not a layer link (an opaque entry). */
  public Optional<Stored> at(long index) {
    byte[] leaf = storage.leaf(index).orElseThrow(() -> new StorageException("leaf " + index + " is missing"));
    try {
      Leaf l = Leaf.parse(leaf);
      return Optional.of(new Stored(index, leaf, l, SignedLink.parse(l.signedLink())));
    } catch (LinkException e) {
      return Optional.empty();
    }
  }
}
