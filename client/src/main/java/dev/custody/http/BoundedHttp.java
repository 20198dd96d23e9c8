package dev.custody.http;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An HTTP exchange with a peer we do not trust (a witness, a mirror, a log): the whole exchange,
 * headers and body, has one deadline, and the body is read into at most {@code maxBytes}. An
 * endless body, a 1 byte/s drip or a {@code Content-Length} of a terabyte cost at most {@code
 * maxBytes} of memory and {@code deadline} of time, then fail with an {@link IOException} that says
 * which. {@link HttpClient}'s own request timeout covers only the wait for headers.
 */
public final class BoundedHttp {
  private BoundedHttp() {}

  /** A response read whole, within the bounds, with its headers. */
  public record Response(int status, byte[] body, HttpHeaders headers) {
    public Response(int status, byte[] body) {
      this(status, body, HttpHeaders.of(Map.of(), (a, b) -> true));
    }

    /** The first value of header {@code name} (case-insensitive), if present. */
    public Optional<String> header(String name) {
      return headers.firstValue(name);
    }

    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** The body was larger than the caller allows. */
  public static final class TooLargeException extends IOException {
    public TooLargeException(String message) {
      super(message);
    }
  }

  /**
   * Sends {@code request} and reads the response.
   *
   * @throws TooLargeException the body (or its declared length) is over {@code maxBytes}
   * @throws HttpTimeoutException the exchange did not finish within {@code deadline}
   * @throws IOException the connection failed
   */
  public static Response send(
      HttpClient client, HttpRequest request, int maxBytes, Duration deadline)
      throws IOException, InterruptedException {
    CompletableFuture<HttpResponse<byte[]>> f =
        client.sendAsync(
            request, info -> new Capped(info, maxBytes, request.method().equals("HEAD")));
    try {
      HttpResponse<byte[]> r = f.get(deadline.toNanos(), TimeUnit.NANOSECONDS);
      return new Response(r.statusCode(), r.body(), r.headers());
    } catch (TimeoutException e) {
      f.cancel(true); // aborts the exchange and releases the connection
      throw new HttpTimeoutException(
          request.method()
              + " "
              + request.uri()
              + " took longer than "
              + deadline.toMillis()
              + " ms (headers and body)");
    } catch (InterruptedException e) {
      f.cancel(true);
      throw e;
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      while (c != null && !(c instanceof IOException) && c.getCause() != null) c = c.getCause();
      if (c instanceof TooLargeException t)
        throw new TooLargeException(request.uri() + ": " + t.getMessage());
      if (c instanceof IOException io) throw io;
      throw new IOException(
          request.method() + " " + request.uri() + " failed: " + e.getCause(), e.getCause());
    }
  }

  /** A short, printable excerpt of a peer's answer, for a log line: never the raw body. */
  public static String excerpt(byte[] body) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < body.length && b.length() < 120; i++) {
      int c = body[i] & 0xff;
      if (c >= 0x20 && c < 0x7f) b.append((char) c);
      else b.append(String.format("\\x%02x", c));
    }
    return body.length > 120 ? b + "…(" + body.length + " bytes)" : b.toString();
  }

  /** Collects the body up to a cap; cancels the subscription and fails once past it. */
  private static final class Capped implements HttpResponse.BodySubscriber<byte[]> {
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final int max;
    private final long declared;
    private byte[] buf = new byte[0];
    private int size;
    private Flow.Subscription subscription;

    /**
     * @param head a HEAD's Content-Length is the size of what a GET would return, not of this body
     */
    Capped(HttpResponse.ResponseInfo info, int max, boolean head) {
      this.max = max;
      this.declared = head ? -1 : info.headers().firstValueAsLong("content-length").orElse(-1);
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (declared > max) {
        s.cancel();
        result.completeExceptionally(
            new TooLargeException("declares " + declared + " bytes; at most " + max + " are read"));
        return;
      }
      s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (result.isDone()) return;
      for (ByteBuffer item : items) {
        int n = item.remaining();
        if (n > max - size) {
          subscription.cancel();
          result.completeExceptionally(new TooLargeException("body is over " + max + " bytes"));
          return;
        }
        if (size + n > buf.length)
          buf = Arrays.copyOf(buf, Math.min(max, Math.max(size + n, buf.length * 2)));
        item.get(buf, size, n);
        size += n;
      }
      subscription.request(1);
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      result.complete(size == buf.length ? buf : Arrays.copyOf(buf, size));
    }
  }
}
