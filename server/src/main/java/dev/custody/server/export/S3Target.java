package dev.custody.server.export;

import java.net.URI;
import java.util.Optional;

/**
 * An S3-compatible bucket to export to: {@code s3://BUCKET/PREFIX}, and the store's endpoint when
 * it is not AWS.
 */
public record S3Target(URI bucket, Optional<URI> endpoint) {
  public TileSink open() {
    return new S3Sink(bucket, endpoint);
  }
}
