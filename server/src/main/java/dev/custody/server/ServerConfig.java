package dev.custody.server;

import dev.custody.server.cluster.ClusterNode;
import dev.custody.server.export.S3Target;
import dev.custody.server.guard.Guard;
import dev.custody.server.keys.LogKeys;
import dev.custody.server.witness.Cosigning;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What a server is started with, grouped by concern: storage and identity, transport, sequencer,
 * witnesses, guard, cluster, export. Build one with {@link #builder}, which holds every default
 * (the command line's too).
 *
 * @param keys the log's key (a file, by default {@code <dataDir>/log.key}, created for a new log;
 *     or a token) and, while it rotates, the next key and the keys to retire
 * @param httpPort the tiles/explorer port; 0 picks one, -1 turns it off
 * @param tilesDir export the log as static tiles to this folder
 * @param acceptAnyEntry admit opaque entries instead of layer links (for tests and logs of other
 *     things)
 * @param cluster when present, this server is one node of a Raft cluster; else the single-node log
 * @param s3 export the log as static tiles to this bucket (instead of, or as well as, a folder)
 * @param exportFence on a cluster, a new leader first reads the exported checkpoint and refuses to
 *     lead while it cannot (fail closed); false leads without it (an operator's choice during an
 *     outage of the bucket)
 */
public record ServerConfig(
    Path dataDir,
    Optional<String> origin,
    LogKeys keys,
    String bindAddress,
    int grpcPort,
    int httpPort,
    boolean acceptAnyEntry,
    int queueCapacity,
    int maxBatch,
    List<Cosigning.WitnessConfig> witnesses,
    int witnessQuorum,
    Guard guard,
    Optional<ClusterNode.Settings> cluster,
    Optional<Path> tilesDir,
    Optional<S3Target> s3,
    boolean exportFence) {
  public static final String DEFAULT_BIND_ADDRESS = "127.0.0.1";
  public static final int DEFAULT_GRPC_PORT = 7300;
  public static final int DEFAULT_HTTP_PORT = 7301;
  public static final int DEFAULT_QUEUE_CAPACITY = 16384;
  public static final int DEFAULT_MAX_BATCH = 4096;

  public ServerConfig {
    witnesses = List.copyOf(witnesses);
  }

  public static Builder builder(Path dataDir) {
    return new Builder(dataDir);
  }

  public Builder toBuilder() {
    Builder b = new Builder(dataDir);
    b.origin = origin;
    b.keys = keys;
    b.bindAddress = bindAddress;
    b.grpcPort = grpcPort;
    b.httpPort = httpPort;
    b.acceptAnyEntry = acceptAnyEntry;
    b.queueCapacity = queueCapacity;
    b.maxBatch = maxBatch;
    b.witnesses = witnesses;
    b.witnessQuorum = witnessQuorum;
    b.guard = guard;
    b.cluster = cluster;
    b.tilesDir = tilesDir;
    b.s3 = s3;
    b.exportFence = exportFence;
    return b;
  }

  /**
   * Every default of a server in one place: loopback, the standard ports, a layer-link log, no
   * witnesses.
   */
  public static final class Builder {
    private final Path dataDir;
    private Optional<String> origin = Optional.empty();
    private LogKeys keys = LogKeys.DEFAULT;
    private String bindAddress = DEFAULT_BIND_ADDRESS;
    private int grpcPort = DEFAULT_GRPC_PORT;
    private int httpPort = DEFAULT_HTTP_PORT;
    private boolean acceptAnyEntry;
    private int queueCapacity = DEFAULT_QUEUE_CAPACITY;
    private int maxBatch = DEFAULT_MAX_BATCH;
    private List<Cosigning.WitnessConfig> witnesses = List.of();
    private int witnessQuorum;
    private Guard guard = Guard.DEFAULT;
    private Optional<ClusterNode.Settings> cluster = Optional.empty();
    private boolean exportFence = true;
    private Optional<Path> tilesDir = Optional.empty();
    private Optional<S3Target> s3 = Optional.empty();

    private Builder(Path dataDir) {
      this.dataDir = dataDir;
    }

    /**
     * The log's origin: required the first time a log's key is in a token or the log is a cluster.
     */
    public Builder origin(String origin) {
      this.origin = Optional.of(origin);
      return this;
    }

    public Builder keys(LogKeys keys) {
      this.keys = keys;
      return this;
    }

    public Builder keyFile(Path keyFile) {
      return keys(keys.withKeyFile(keyFile));
    }

    public Builder keyUri(String keyUri) {
      return keys(keys.withKeyUri(keyUri));
    }

    public Builder bindAddress(String bindAddress) {
      this.bindAddress = bindAddress;
      return this;
    }

    /** 0 picks a free port. */
    public Builder grpcPort(int grpcPort) {
      this.grpcPort = grpcPort;
      return this;
    }

    /** 0 picks a free port; -1 serves no HTTP (no tiles, no explorer). */
    public Builder httpPort(int httpPort) {
      this.httpPort = httpPort;
      return this;
    }

    /** Both ports picked free, on loopback: what tests want. */
    public Builder anyPorts() {
      return grpcPort(0).httpPort(0);
    }

    public Builder acceptAnyEntry(boolean acceptAnyEntry) {
      this.acceptAnyEntry = acceptAnyEntry;
      return this;
    }

    public Builder queueCapacity(int queueCapacity) {
      this.queueCapacity = queueCapacity;
      return this;
    }

    public Builder maxBatch(int maxBatch) {
      this.maxBatch = maxBatch;
      return this;
    }

    public Builder witnesses(List<Cosigning.WitnessConfig> witnesses, int quorum) {
      this.witnesses = witnesses;
      this.witnessQuorum = quorum;
      return this;
    }

    public Builder guard(Guard guard) {
      this.guard = guard;
      return this;
    }

    /** Whether a new leader must read the exported checkpoint first (default true). */
    public Builder exportFence(boolean on) {
      this.exportFence = on;
      return this;
    }

    public Builder cluster(ClusterNode.Settings cluster) {
      this.cluster = Optional.of(cluster);
      return this;
    }

    public Builder tilesDir(Path tilesDir) {
      this.tilesDir = Optional.of(tilesDir);
      return this;
    }

    public Builder s3(S3Target s3) {
      this.s3 = Optional.of(s3);
      return this;
    }

    public ServerConfig build() {
      return new ServerConfig(
          dataDir,
          origin,
          keys,
          bindAddress,
          grpcPort,
          httpPort,
          acceptAnyEntry,
          queueCapacity,
          maxBatch,
          witnesses,
          witnessQuorum,
          guard,
          cluster,
          tilesDir,
          s3,
          exportFence);
    }
  }
}
