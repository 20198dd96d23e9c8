package dev.custody.registry;

import java.io.IOException;

/**
 * A registry refused a request or answered with something we cannot use. Each refusal a person has
 * to act on differently is its own type, so that callers (and the command line's exit message) name
 * it: a throttled listing must never read as "no signatures".
 */
public abstract sealed class RegistryException extends IOException {
  private final int status;

  RegistryException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** The HTTP status, or 0 when the answer itself was unusable. */
  public int status() {
    return status;
  }

  /** 401: no credentials, or credentials (or a token) the registry did not accept. */
  public static final class Unauthorized extends RegistryException {
    public Unauthorized(String message) {
      super(401, message);
    }
  }

  /** 403: the credentials were accepted but do not allow this. */
  public static final class Forbidden extends RegistryException {
    public Forbidden(String message) {
      super(403, message);
    }
  }

  /** 404: no such repository, manifest or blob. */
  public static final class NotFound extends RegistryException {
    public NotFound(String message) {
      super(404, message);
    }
  }

  /** 429: the registry throttled us, still after the retries we allow ourselves. */
  public static final class TooManyRequests extends RegistryException {
    public TooManyRequests(String message) {
      super(429, message);
    }
  }

  /** Any other refusal: a 5xx that outlasted our retries, a 400, a 405 (read-only registry). */
  public static final class Refused extends RegistryException {
    public Refused(int status, String message) {
      super(status, message);
    }
  }

  /**
   * The answer cannot be used: bytes that do not match their digest, JSON that is not a manifest, a
   * body over the size we read, a redirect loop.
   */
  public static final class BadAnswer extends RegistryException {
    public BadAnswer(String message) {
      super(0, message);
    }
  }

  /** The caller's deadline for the whole request passed (retries and redirects included). */
  public static final class DeadlineExceeded extends RegistryException {
    public DeadlineExceeded(String message) {
      super(0, message);
    }
  }
}
