package dev.custody.serving;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * How a client is named when nothing better (a verified certificate) names it: its IP address, not
 * its port, which a client changes at will; for IPv6 its /64, which one host holds whole.
 */
public final class ClientAddress {
  private ClientAddress() {}

  /** "address A" for IPv4, "address P::/64" for IPv6. */
  public static String of(SocketAddress a) {
    if (!(a instanceof InetSocketAddress i) || i.getAddress() == null) return "address " + a;
    byte[] b = i.getAddress().getAddress();
    if (b.length == 16) {
      return String.format(
          "address %02x%02x:%02x%02x:%02x%02x:%02x%02x::/64",
          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
    }
    return "address " + i.getAddress().getHostAddress();
  }
}
