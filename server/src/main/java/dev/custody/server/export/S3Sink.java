package dev.custody.server.export;

import java.io.IOException;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.DeleteObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * An S3-compatible bucket (AWS S3, MinIO, Ceph, S3Proxy...), at {@code s3://BUCKET/PREFIX}.
 * Immutable files are written with {@code If-None-Match: *}, so that a file already there is never
 * replaced (a 412 is answered by comparing the bytes there); the checkpoint is replaced with {@code
 * If-Match} on the ETag of the one read before, so that a deposed leader cannot overwrite a newer
 * one. Credentials and region come from the AWS SDK's default chains (environment, profile,
 * instance role); {@code endpoint} points at a non-AWS store (path-style addressing). Tiles are
 * served with a year of caching and {@code immutable}; the checkpoint with none.
 */
public final class S3Sink implements TileSink {
  private static final String IMMUTABLE = "public, max-age=31536000, immutable";
  private static final String CHECKPOINT = "no-cache";

  /**
   * A checkpoint read from the bucket is at most this long (C2SP notes are a few hundred bytes).
   */
  public static final int MAX_CHECKPOINT_BYTES = 64 * 1024;

  /**
   * Every call to the store ends within {@code call} (retries included) and each attempt within
   * {@code attempt}: a store that stalls or drips bytes cannot hold the exporter, nor a new leader
   * waiting to read the published checkpoint.
   */
  public record Deadlines(Duration call, Duration attempt) {
    public static final Deadlines DEFAULT =
        new Deadlines(Duration.ofSeconds(20), Duration.ofSeconds(8));
  }

  private final S3Client s3;
  private final String bucket;
  private final String prefix; // "" or ending in "/"
  private String checkpointEtag; // of the checkpoint last read or written here
  private volatile boolean probed; // the store was seen to refuse a second create-only PUT

  /**
   * @param url {@code s3://BUCKET} or {@code s3://BUCKET/PREFIX}
   */
  public S3Sink(URI url, Optional<URI> endpoint) {
    this(url, endpoint, Deadlines.DEFAULT);
  }

  /**
   * @param url {@code s3://BUCKET} or {@code s3://BUCKET/PREFIX}
   */
  public S3Sink(URI url, Optional<URI> endpoint, Deadlines deadlines) {
    if (!"s3".equals(url.getScheme()) || url.getHost() == null || url.getHost().isEmpty()) {
      throw new IllegalArgumentException(
          "--export " + url + " is not s3://BUCKET or s3://BUCKET/PREFIX");
    }
    this.bucket = url.getHost();
    String p = url.getPath() == null ? "" : url.getPath().replaceAll("^/+", "");
    this.prefix = p.isEmpty() || p.endsWith("/") ? p : p + "/";
    Region region;
    try {
      region = DefaultAwsRegionProviderChain.builder().build().getRegion();
    } catch (RuntimeException none) {
      region = Region.US_EAST_1; // S3-compatible stores ignore it; AWS users set AWS_REGION
    }
    S3ClientBuilder b =
        S3Client.builder()
            .region(region)
            .credentialsProvider(DefaultCredentialsProvider.builder().build())
            .overrideConfiguration(
                ClientOverrideConfiguration.builder()
                    .apiCallTimeout(deadlines.call())
                    .apiCallAttemptTimeout(deadlines.attempt())
                    .build())
            .httpClient(
                UrlConnectionHttpClient.builder()
                    .connectionTimeout(deadlines.attempt())
                    .socketTimeout(deadlines.attempt())
                    .build());
    endpoint.ifPresent(e -> b.endpointOverride(e).forcePathStyle(true));
    this.s3 = b.build();
  }

  /**
   * Checks that the store enforces create-only writes: a second {@code If-None-Match: *} PUT of the
   * same key must be refused (412). A store that accepts it would let a deposed leader overwrite
   * what the new one published; the export refuses such a store. Idempotent; the probe object is
   * removed afterwards.
   *
   * @throws ConflictException the store does not enforce conditional writes
   * @throws IOException the store could not be reached (retried before the first write)
   */
  public void probe() throws IOException {
    if (probed) return;
    String key = prefix + ".custody-probe-" + Long.toHexString(new SecureRandom().nextLong());
    PutObjectRequest put =
        PutObjectRequest.builder().bucket(bucket).key(key).ifNoneMatch("*").build();
    try {
      s3.putObject(put, RequestBody.fromBytes(new byte[] {1}));
      boolean refused;
      try {
        s3.putObject(put, RequestBody.fromBytes(new byte[] {2}));
        refused = false;
      } catch (S3Exception e) {
        if (e.statusCode() != 412) throw failure("probing conditional writes at " + key, e);
        refused = true;
      }
      try {
        s3.deleteObject(DeleteObjectRequest.builder().bucket(bucket).key(key).build());
      } catch (RuntimeException leftBehind) {
        // a one-byte object under the prefix; harmless
      }
      if (!refused) {
        throw new ConflictException(
            describe()
                + " does not enforce create-only writes (a second PUT with If-None-Match: * was "
                + "accepted): published tiles and checkpoints could be overwritten, so Custody "
                + "will not export there");
      }
      probed = true;
    } catch (S3Exception e) {
      throw failure("probing conditional writes at " + key, e);
    } catch (RuntimeException e) {
      throw new IOException("probing " + describe() + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void putImmutable(String path, byte[] content) throws IOException {
    probe();
    String key = prefix + path;
    try {
      s3.putObject(
          PutObjectRequest.builder()
              .bucket(bucket)
              .key(key)
              .ifNoneMatch("*")
              .cacheControl(IMMUTABLE)
              .contentType("application/octet-stream")
              .build(),
          RequestBody.fromBytes(content));
    } catch (S3Exception e) {
      if (e.statusCode() != 412) throw failure("writing " + key, e);
      byte[] there =
          get(key, content.length)
              .orElseThrow(() -> new IOException(key + " answered 412 but cannot be read"));
      if (!Arrays.equals(there, content)) {
        throw new ConflictException(
            "s3://"
                + bucket
                + "/"
                + key
                + " is already published with other bytes: "
                + "another log's files, or a fork");
      }
    } catch (RuntimeException e) {
      throw new IOException("writing s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<byte[]> checkpoint() throws IOException {
    return get(prefix + "checkpoint", MAX_CHECKPOINT_BYTES);
  }

  @Override
  public void putCheckpoint(byte[] content, Optional<byte[]> expected) throws IOException {
    probe();
    String key = prefix + "checkpoint";
    Optional<byte[]> now = checkpoint(); // also refreshes the ETag to match on
    if (now.isPresent() != expected.isPresent()
        || (now.isPresent() && !Arrays.equals(now.get(), expected.get()))) {
      throw new ConflictException(
          "s3://" + bucket + "/" + key + " changed under this writer; not replacing it");
    }
    PutObjectRequest.Builder put =
        PutObjectRequest.builder()
            .bucket(bucket)
            .key(key)
            .cacheControl(CHECKPOINT)
            .contentType("text/plain; charset=utf-8");
    if (now.isPresent()) {
      put.ifMatch(checkpointEtag);
    } else {
      put.ifNoneMatch("*");
    }
    try {
      checkpointEtag = s3.putObject(put.build(), RequestBody.fromBytes(content)).eTag();
    } catch (S3Exception e) {
      if (e.statusCode() == 412) {
        // A request the SDK retried after its first attempt landed (a slow answer under load)
        // finds its own write: the object holds exactly our bytes, which is success.
        Optional<byte[]> after = checkpoint();
        if (after.isPresent() && Arrays.equals(after.get(), content)) return;
        throw new ConflictException(
            "s3://" + bucket + "/" + key + " changed under this writer (412); not replacing it");
      }
      throw failure("writing " + key, e);
    } catch (RuntimeException e) {
      throw new IOException("writing s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * The object's bytes, at most {@code max}: asked for as a range, and read no further than one
   * byte past it whatever the store sends (it may ignore the range), so an object that is longer is
   * an error, not an allocation.
   */
  private Optional<byte[]> get(String key, int max) throws IOException {
    boolean checkpoint = key.endsWith("checkpoint");
    GetObjectRequest.Builder b = GetObjectRequest.builder().bucket(bucket).key(key);
    // A range for tiles; not for the checkpoint, whose ETag the next conditional PUT must match
    // (some stores answer a ranged GET with another ETag). The bounded read below holds for both.
    if (!checkpoint) b.range("bytes=0-" + max);
    GetObjectRequest req = b.build();
    try (ResponseInputStream<GetObjectResponse> in = s3.getObject(req)) {
      byte[] body = in.readNBytes(max + 1);
      if (body.length > max) {
        in.abort();
        throw new IOException(
            "s3://" + bucket + "/" + key + " is longer than " + max + " bytes; not reading it");
      }
      if (checkpoint) checkpointEtag = in.response().eTag();
      return Optional.of(body);
    } catch (S3Exception e) {
      if (e.statusCode() == 404) return Optional.empty();
      throw failure("reading " + key, e);
    } catch (RuntimeException e) {
      throw new IOException("reading s3://" + bucket + "/" + key + " failed: " + e.getMessage(), e);
    }
  }

  private IOException failure(String what, S3Exception e) {
    String code = e.awsErrorDetails() == null ? "" : " " + e.awsErrorDetails().errorCode();
    return new IOException(
        what + " in s3://" + bucket + " failed: HTTP " + e.statusCode() + code, e);
  }

  @Override
  public String describe() {
    return "s3://" + bucket + "/" + prefix;
  }

  @Override
  public void close() {
    s3.close();
  }
}
