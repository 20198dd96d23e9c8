package dev.custody.http;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Where a request made on someone else's behalf may go. A service that fetches what a caller names
 * (an image reference in an admission request) must not become a way into its own network: every
 * hop — the first request, each redirect, a token realm, a next page — is checked after DNS
 * resolution, and a host that resolves to a loopback, link-local (cloud metadata), private (RFC
 * 1918, unique-local, shared CGNAT), multicast or unspecified address is refused, unless it is
 * allowed by name ({@code HOST} or {@code HOST:PORT}, as an operator lists its own registries).
 *
 * <p>{@link #ANY} allows everything: for a command a person runs on their own behalf.
 *
 * <p>What this does not cover: a name that resolves to a public address when checked and to an
 * internal one when the HTTP client resolves it again a moment later (DNS rebinding). A deployment
 * that fears it adds a NetworkPolicy that lets the service reach only the registries
 * (docs/registries-and-admission.md shows one).
 */
public final class OutboundPolicy {
  /** How a host name becomes addresses; replaceable in tests. */
  @FunctionalInterface
  public interface Resolver {
    InetAddress[] resolve(String host) throws UnknownHostException;
  }

  /** A request the policy does not allow; says which host and why, and nothing it learned. */
  public static final class RefusedException extends IOException {
    public RefusedException(String message) {
      super(message);
    }
  }

  /** Everything allowed: a person's own command. */
  public static final OutboundPolicy ANY =
      new OutboundPolicy(true, Set.of(), InetAddress::getAllByName);

  private final boolean any;
  private final Set<String> allowed; // lower-case HOST or HOST:PORT, IPv6 in brackets
  private final Resolver resolver;

  private OutboundPolicy(boolean any, Set<String> allowed, Resolver resolver) {
    this.any = any;
    this.allowed = Set.copyOf(allowed);
    this.resolver = resolver;
  }

  /**
   * Public addresses only, but for the hosts named in {@code allowed} ({@code HOST} for any port,
   * {@code HOST:PORT} for one).
   */
  public static OutboundPolicy publicOnly(Set<String> allowed) {
    return publicOnly(allowed, InetAddress::getAllByName);
  }

  public static OutboundPolicy publicOnly(Set<String> allowed, Resolver resolver) {
    Set<String> norm = new HashSet<>();
    for (String a : allowed) norm.add(a.strip().toLowerCase(Locale.ROOT));
    return new OutboundPolicy(false, norm, resolver);
  }

  /** True when {@code host[:port]} (as in a reference or a URI's authority) is allowed by name. */
  public boolean allowedByName(String host, int port) {
    if (any) return true;
    String h = host.toLowerCase(Locale.ROOT);
    if (h.contains(":") && !h.startsWith("[")) h = "[" + h + "]";
    return allowed.contains(h) || (port >= 0 && allowed.contains(h + ":" + port));
  }

  /**
   * Checks one hop.
   *
   * @throws RefusedException the URI is not http(s), or its host resolves to an address not allowed
   */
  public void check(URI uri) throws RefusedException {
    if (any) return;
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http"))
      throw new RefusedException("only http and https are fetched, not " + uri.getScheme());
    String host = uri.getHost();
    if (host == null || host.isEmpty()) throw new RefusedException("a URL without a host");
    int port = uri.getPort() >= 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
    String bare = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    if (allowedByName(bare, port)) return;
    InetAddress[] addresses;
    try {
      addresses = resolver.resolve(bare);
    } catch (UnknownHostException e) {
      throw new RefusedException(printable(bare) + " does not resolve");
    }
    for (InetAddress a : addresses) {
      if (internal(a)) {
        throw new RefusedException(
            printable(bare)
                + " resolves to an internal address; a registry there must be allowed by name "
                + "(--allow-registry "
                + printable(bare)
                + (uri.getPort() >= 0 ? ":" + port : "")
                + ")");
      }
    }
  }

  /**
   * True for an address a service must not reach for a caller: loopback, link-local, private,
   * shared (CGNAT), multicast, unspecified, broadcast, and IPv6 forms that embed such an IPv4
   * address (mapped, compatible, NAT64, 6to4).
   */
  public static boolean internal(InetAddress a) {
    if (a.isLoopbackAddress()
        || a.isLinkLocalAddress()
        || a.isSiteLocalAddress()
        || a.isMulticastAddress()
        || a.isAnyLocalAddress()) return true;
    byte[] b = a.getAddress();
    if (a instanceof Inet4Address) {
      int o0 = b[0] & 0xff;
      int o1 = b[1] & 0xff;
      return o0 == 0 // this network
          || (o0 == 100 && (o1 & 0xc0) == 64) // 100.64.0.0/10, shared address space
          || (o0 == 192 && o1 == 0 && (b[2] & 0xff) == 0) // 192.0.0.0/24, IETF assignments
          || (o0 == 198 && (o1 & 0xfe) == 18) // 198.18.0.0/15, benchmarking
          || o0 >= 240; // reserved and broadcast
    }
    if (a instanceof Inet6Address) {
      if ((b[0] & 0xfe) == 0xfc) return true; // fc00::/7, unique local
      boolean zero10 = true;
      for (int i = 0; i < 10; i++) zero10 &= b[i] == 0;
      // ::a.b.c.d (compatible) and ::ffff:a.b.c.d (mapped, when Java did not unwrap it)
      if (zero10 && ((b[10] == 0 && b[11] == 0) || (b[10] == (byte) 0xff && b[11] == (byte) 0xff)))
        return internal(v4(b, 12));
      // 64:ff9b::/96, NAT64
      if (b[0] == 0 && b[1] == 0x64 && b[2] == (byte) 0xff && b[3] == (byte) 0x9b)
        return internal(v4(b, 12));
      // 2002::/16, 6to4
      if (b[0] == 0x20 && b[1] == 0x02) return internal(v4(b, 2));
    }
    return false;
  }

  private static InetAddress v4(byte[] b, int at) {
    try {
      return InetAddress.getByAddress(new byte[] {b[at], b[at + 1], b[at + 2], b[at + 3]});
    } catch (UnknownHostException impossible) {
      throw new IllegalStateException(impossible);
    }
  }

  private static String printable(String s) {
    String cut = s.length() > 100 ? s.substring(0, 100) + "…" : s;
    return cut.replaceAll("[^\\x21-\\x7e]", "?");
  }
}
