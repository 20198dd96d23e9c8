package dev.custody.server.export;

import java.io.IOException;
import java.net.URI;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * An S3-compatible bucket to export to: {@code s3://BUCKET/PREFIX}, and the store's endpoint when
 * it is not AWS.
 */
public record S3Target(URI bucket, Optional<URI> endpoint) {
  /**
   * Opens the bucket and probes it for create-only writes ({@link S3Sink#probe}).
   *
   * @throws IllegalArgumentException the store does not enforce them: the server must not start
   *     exporting there. A store that cannot be reached now is opened anyway (it is probed again
   *     before the first write), so that a node can restart during an outage of the store.
   */
  public TileSink open() {
    S3Sink sink = new S3Sink(bucket, endpoint);
    try {
      sink.probe();
    } catch (TileSink.ConflictException e) {
      sink.close();
      throw new IllegalArgumentException(e.getMessage(), e);
    } catch (IOException unreachable) {
      Logger.getLogger(S3Target.class.getName())
          .warning(
              "cannot probe "
                  + sink.describe()
                  + " for create-only writes now ("
                  + unreachable.getMessage()
                  + "); nothing is written there until it answers");
    }
    return sink;
  }
}
