package dev.custody.tiles;

import dev.custody.checkpoint.Checkpoint;
import dev.custody.checkpoint.CheckpointException;
import dev.custody.checkpoint.CheckpointVerifier;
import dev.custody.checkpoint.SignedCheckpoint;
import dev.custody.http.BoundedHttp;
import dev.custody.merkle.Hashes;
import dev.custody.merkle.ProofBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads a log through its C2SP tlog-tiles (over HTTP, or from a directory of static files), and
 * trusts nothing it fetches until it is tied to a checkpoint signed by the log: the edge tiles must
 * hash to the checkpoint's root, and every full tile to its entry in the tile above.
 */
public final class TileClient {
  /**
   * Fetches a resource below the log's prefix; empty when it does not exist (404). Trouble reaching
   * it (network, status, time, size) is a {@link MirrorException}: the fault of whoever serves the
   * tiles, not evidence against the log.
   */
  @FunctionalInterface
  public interface Fetcher {
    Optional<byte[]> get(String path) throws IOException;
  }

  /** The tiles' server could not be read: unreachable, slow, an error status, or an absurd size. */
  public static final class MirrorException extends IOException {
    public MirrorException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Most an entry bundle can be: 256 entries of up to 65,535 bytes, each with its 2-byte length.
   */
  static final int MAX_BUNDLE_BYTES = Tiles.WIDTH * 65_537;

  /** A checkpoint with its cosignatures is a few hundred bytes; leave room for many witnesses. */
  static final int MAX_CHECKPOINT_BYTES = 64 * 1024;

  /** The whole exchange for one resource, headers and body: a 1 byte/s drip ends here. */
  static final Duration FETCH_DEADLINE = Duration.ofSeconds(30);

  /** The most bytes a resource at {@code path} can hold; anything more is refused unread. */
  static int maxBytes(String path) {
    if (path.equals("checkpoint")) return MAX_CHECKPOINT_BYTES;
    if (path.startsWith("tile/entries/")) return MAX_BUNDLE_BYTES;
    if (path.startsWith("tile/")) return Tiles.WIDTH * Hashes.SIZE;
    return MAX_CHECKPOINT_BYTES;
  }

  private final Fetcher fetcher;
  private final CheckpointVerifier log;

  public TileClient(Fetcher fetcher, CheckpointVerifier log) {
    this.fetcher = fetcher;
    this.log = log;
  }

  /** An http(s) URL prefix, or else a directory of static tiles. */
  public static Fetcher fetcher(String prefixOrDirectory) {
    return fetcher(prefixOrDirectory, FETCH_DEADLINE);
  }

  /**
   * @param deadline for each HTTP resource, headers and body
   */
  public static Fetcher fetcher(String prefixOrDirectory, Duration deadline) {
    return prefixOrDirectory.startsWith("http://") || prefixOrDirectory.startsWith("https://")
        ? http(URI.create(prefixOrDirectory), deadline)
        : directory(Path.of(prefixOrDirectory));
  }

  public static Fetcher http(URI prefix) {
    return http(prefix, FETCH_DEADLINE);
  }

  public static Fetcher http(URI prefix, Duration deadline) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    String base = prefix.toString().endsWith("/") ? prefix.toString() : prefix + "/";
    return path -> {
      HttpRequest req =
          HttpRequest.newBuilder(URI.create(base + path)).timeout(deadline).GET().build();
      try {
        BoundedHttp.Response r = BoundedHttp.send(client, req, maxBytes(path), deadline);
        if (r.status() == 404) return Optional.empty();
        if (r.status() != 200)
          throw new MirrorException("GET " + base + path + ": HTTP " + r.status(), null);
        return Optional.of(r.body());
      } catch (MirrorException e) {
        throw e;
      } catch (IOException e) {
        throw new MirrorException("GET " + base + path + ": " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new MirrorException("interrupted", e);
      }
    };
  }

  public static Fetcher directory(Path root) {
    return path -> {
      Path p = root.resolve(path).normalize();
      if (!p.startsWith(root.normalize()))
        throw new IOException("path escapes the directory: " + path);
      if (!Files.isRegularFile(p)) return Optional.empty();
      if (Files.size(p) > maxBytes(path))
        throw new MirrorException(path + " is too large to be what its path says", null);
      return Optional.of(Files.readAllBytes(p));
    };
  }

  /** The log's current checkpoint, verified. */
  public SignedCheckpoint checkpoint() throws IOException, CheckpointException {
    byte[] b =
        fetcher
            .get("checkpoint")
            .orElseThrow(() -> new MirrorException("the log serves no checkpoint", null));
    String note = new String(b, StandardCharsets.UTF_8);
    return new SignedCheckpoint(log.verify(note), note);
  }

  /** The tree of a verified checkpoint, read through verified tiles. */
  public Tree tree(Checkpoint cp) throws IOException, CheckpointException {
    return new Tree(cp);
  }

  /** A tree of one signed size whose tiles are each checked before use. */
  public final class Tree {
    private final Checkpoint cp;
    private final Map<Long, byte[]> verified = new ConcurrentHashMap<>();
    private final NodeCache cache = new NodeCache(14);

    Tree(Checkpoint cp) throws IOException, CheckpointException {
      this.cp = cp;
      verifyEdge();
    }

    public long size() {
      return cp.size();
    }

    public ProofBuilder proofs() {
      return new ProofBuilder(new TileNodes(this::tile, cp.size(), cache));
    }

    /**
     * Entries [bundle * 256, bundle * 256 + width), each checked against its verified leaf hash.
     */
    public List<byte[]> entries(long bundle) throws IOException {
      int width = Tiles.width(0, bundle, cp.size());
      if (width == 0)
        throw new IllegalArgumentException(
            "entry bundle " + bundle + " is beyond tree size " + cp.size());
      byte[] raw = fetch(TilePath.entries(bundle, width));
      List<byte[]> entries;
      try {
        entries = EntryBundle.parse(raw, width);
      } catch (IllegalArgumentException e) {
        throw new IOException("entry bundle " + bundle + ": " + e.getMessage());
      }
      byte[] hashes = tile(0, bundle, width);
      for (int i = 0; i < width; i++) {
        byte[] want = Arrays.copyOfRange(hashes, i * Hashes.SIZE, (i + 1) * Hashes.SIZE);
        if (!MessageDigest.isEqual(want, Hashes.leafHash(entries.get(i)))) {
          throw new IOException(
              "entry " + (bundle * Tiles.WIDTH + i) + " does not hash to its leaf in the tree");
        }
      }
      return entries;
    }

    private byte[] tile(int level, long index, int width) {
      long key = ((long) level << 56) | index;
      byte[] t = verified.get(key);
      if (t != null && t.length >= width * Hashes.SIZE) return t;
      try {
        t = fetch(TilePath.tile(level, index, width));
        if (width != Tiles.WIDTH) {
          throw new IOException(
              "tile " + level + "/" + index + ".p/" + width + " is not on this tree's edge");
        }
        // A full tile is the subtree whose hash the tile above holds.
        byte[] above =
            tile(
                level + 1,
                index / Tiles.WIDTH,
                Tiles.width(level + 1, index / Tiles.WIDTH, cp.size()));
        int at = (int) (index % Tiles.WIDTH);
        byte[] want = Arrays.copyOfRange(above, at * Hashes.SIZE, (at + 1) * Hashes.SIZE);
        if (!MessageDigest.isEqual(want, runHash(t, 0, Tiles.WIDTH))) {
          throw new IOException(
              "tile " + level + "/" + index + " does not hash to its entry in the tile above");
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      verified.put(key, t);
      return t;
    }

    /**
     * Fetches the rightmost tile of each level and checks that together they give the signed root.
     */
    private void verifyEdge() throws IOException, CheckpointException {
      long n = cp.size();
      if (n == 0) {
        if (!MessageDigest.isEqual(Hashes.emptyRoot(), cp.rootHash()))
          throw new CheckpointException("empty tree with a non-empty root");
        return;
      }
      List<byte[]> edge = new ArrayList<>(); // compact-range nodes, largest first
      int top = 0;
      while (Tiles.HEIGHT * (top + 1) < Long.SIZE && (n >>> (Tiles.HEIGHT * (top + 1))) > 0) top++;
      for (int level = top; level >= 0; level--) {
        int width = (int) ((n >>> (Tiles.HEIGHT * level)) & (Tiles.WIDTH - 1));
        if (width == 0) continue;
        long index = (n >>> (Tiles.HEIGHT * level)) / Tiles.WIDTH;
        byte[] t = fetch(TilePath.tile(level, index, width));
        int offset = 0;
        for (int bit = Tiles.HEIGHT - 1; bit >= 0; bit--) {
          if ((width & (1 << bit)) == 0) continue;
          edge.add(runHash(t, offset, 1 << bit));
          offset += 1 << bit;
        }
        verified.put(((long) level << 56) | index, t);
      }
      byte[] root = edge.get(edge.size() - 1);
      for (int i = edge.size() - 2; i >= 0; i--) root = Hashes.nodeHash(edge.get(i), root);
      if (!MessageDigest.isEqual(root, cp.rootHash())) {
        verified.clear();
        throw new CheckpointException(
            "the log's edge tiles do not hash to the signed root of size " + n);
      }
    }

    private byte[] fetch(TilePath p) throws IOException {
      byte[] b =
          fetcher
              .get(p.format())
              .orElseThrow(() -> new MirrorException(p.format() + " not found", null));
      if (!p.entries() && b.length != p.width() * Hashes.SIZE) {
        throw new IOException(
            p.format() + " is " + b.length + " bytes, not " + p.width() * Hashes.SIZE);
      }
      return b;
    }
  }

  /** The Merkle hash of {@code count} (a power of two) consecutive hashes of a tile. */
  static byte[] runHash(byte[] tile, int offset, int count) {
    if (count == 1)
      return Arrays.copyOfRange(tile, offset * Hashes.SIZE, (offset + 1) * Hashes.SIZE);
    int half = count / 2;
    return Hashes.nodeHash(runHash(tile, offset, half), runHash(tile, offset + half, half));
  }
}
