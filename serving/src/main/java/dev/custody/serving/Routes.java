package dev.custody.serving;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * The route table of one HTTP port: each route names its methods, an exact path or a path prefix,
 * and its handler. The first route whose path matches answers; a path that matches with another
 * method is 405 with {@code Allow}; nothing matching is 404. HEAD is answered wherever GET is, with
 * GET's headers and no body.
 *
 * <p>A {@link Blocking} handler may wait (storage reads, signature checks, synced writes): the
 * server runs it on its worker threads. An {@link Async} handler runs on the event loop and must
 * not block: it returns a future and hands slow work to executors of its own, so it holds no thread
 * while it waits (registries). Immutable once built; thread-safe.
 */
public final class Routes {
  /** Answers a request, possibly waiting; runs on a worker thread, concurrently with others. */
  @FunctionalInterface
  public interface Blocking {
    HttpResponse handle(HttpRequest request);
  }

  /** Answers a request when its future completes; runs on the event loop and must not block. */
  @FunctionalInterface
  public interface Async {
    CompletableFuture<HttpResponse> handle(HttpRequest request);
  }

  /** One row of the table. Exactly one of {@code blocking} and {@code async} is set. */
  record Route(Set<String> methods, String path, boolean prefix, Blocking blocking, Async async) {
    boolean matches(String p) {
      return prefix ? p.startsWith(path) : p.equals(path);
    }
  }

  /** What the table says for a request: its route, or the status to answer instead. */
  record Match(Optional<Route> route, int status, String allow) {}

  private final List<Route> routes;

  private Routes(List<Route> routes) {
    this.routes = List.copyOf(routes);
  }

  public static Builder builder() {
    return new Builder();
  }

  Match match(String method, String path) {
    Set<String> allowed = new LinkedHashSet<>();
    String m = method.equals("HEAD") ? "GET" : method;
    for (Route r : routes) {
      if (!r.matches(path)) continue;
      if (r.methods().contains(m)) return new Match(Optional.of(r), 200, "");
      allowed.addAll(r.methods());
    }
    if (allowed.isEmpty()) return new Match(Optional.empty(), 404, "");
    if (allowed.contains("GET")) allowed.add("HEAD");
    return new Match(Optional.empty(), 405, String.join(", ", allowed));
  }

  /**
   * The answer to {@code request}: 404 or 405 when no route takes it, else its route's answer, a
   * blocking route run on {@code workers}. What the server does for each request, callable
   * in-process (tests, benchmarks) with no socket.
   */
  public CompletableFuture<HttpResponse> answer(HttpRequest request, Executor workers) {
    Match m = match(request.method(), request.path());
    if (m.route().isEmpty()) {
      return CompletableFuture.completedFuture(
          m.status() == 405
              ? HttpResponse.text(405, "only " + m.allow() + " here\n").with("Allow", m.allow())
              : HttpResponse.text(404, "not found\n"));
    }
    Route route = m.route().get();
    try {
      if (route.async() != null) return route.async().handle(request);
      return CompletableFuture.supplyAsync(() -> route.blocking().handle(request), workers);
    } catch (RuntimeException e) {
      // A full executor, or an async handler that threw before making its future.
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The paths served, in table order ("/tile/…" for a prefix): for tests and the docs. */
  public List<String> paths() {
    return routes.stream().map(r -> r.prefix() ? r.path() + "…" : r.path()).toList();
  }

  public static final class Builder {
    private final List<Route> routes = new ArrayList<>();

    private Builder() {}

    /** GET (and HEAD) on exactly {@code path}. */
    public Builder get(String path, Blocking handler) {
      return add(Set.of("GET"), path, false, handler, null);
    }

    /** GET (and HEAD) on every path that starts with {@code prefix}. */
    public Builder getPrefix(String prefix, Blocking handler) {
      return add(Set.of("GET"), prefix, true, handler, null);
    }

    /** {@code methods} on exactly {@code path}, answered on a worker thread. */
    public Builder route(Set<String> methods, String path, Blocking handler) {
      return add(methods, path, false, handler, null);
    }

    /** {@code methods} on every path starting with {@code prefix}, on a worker thread. */
    public Builder routePrefix(Set<String> methods, String prefix, Blocking handler) {
      return add(methods, prefix, true, handler, null);
    }

    /** {@code methods} on exactly {@code path}, answered when the handler's future completes. */
    public Builder async(Set<String> methods, String path, Async handler) {
      return add(methods, path, false, null, handler);
    }

    /** Every route of {@code part} (a set of pages, say), after those added so far. */
    public Builder include(Routes part) {
      routes.addAll(part.routes);
      return this;
    }

    /**
     * Every route added so far, wrapped: {@code wrap} sees each handler and returns the one to use
     * (a per-client budget in front of a page set, say). Only blocking routes are wrapped.
     */
    public Builder wrapEach(Function<Blocking, Blocking> wrap) {
      routes.replaceAll(
          r ->
              r.blocking() == null
                  ? r
                  : new Route(r.methods(), r.path(), r.prefix(), wrap.apply(r.blocking()), null));
      return this;
    }

    private Builder add(
        Set<String> methods, String path, boolean prefix, Blocking blocking, Async async) {
      if (!path.startsWith("/"))
        throw new IllegalArgumentException("a path starts with /: " + path);
      if (methods.isEmpty()) throw new IllegalArgumentException("a route needs a method");
      routes.add(new Route(Set.copyOf(methods), path, prefix, blocking, async));
      return this;
    }

    public Routes build() {
      return new Routes(routes);
    }
  }
}
