package dev.custody.server.cluster;

import dev.custody.api.Nodes;
import java.net.InetSocketAddress;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The Raft members named on the command line: {@code n1=HOST:PORT,n2=HOST:PORT,...}, each id once,
 * each address once. Ids are short names ({@code [A-Za-z0-9_-]}, at most 32).
 */
public record Peers(Map<String, InetSocketAddress> members) {
  static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,32}");

  public Peers {
    members = Collections.unmodifiableMap(new LinkedHashMap<>(members));
  }

  /**
   * Parses the {@code --peers} value; the message of the exception says what is wrong, for a
   * person.
   */
  public static Peers parse(String spec) {
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    if (spec == null || spec.isBlank())
      throw new IllegalArgumentException("--peers is empty; give n1=HOST:PORT,n2=HOST:PORT,...");
    for (String part : spec.split(",")) {
      int eq = part.indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("peer '" + part + "' is not ID=HOST:PORT");
      String id = part.substring(0, eq).trim();
      String addr = part.substring(eq + 1).trim();
      if (!ID.matcher(id).matches()) {
        throw new IllegalArgumentException(
            "peer id '" + id + "' must be 1 to 32 of A-Z a-z 0-9 _ -");
      }
      InetSocketAddress a;
      try {
        a = Nodes.hostPort(addr);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("peer " + id + ": " + e.getMessage());
      }
      if (a.getPort() == 0)
        throw new IllegalArgumentException("peer " + id + ": port 0 is not a port to reach it on");
      if (out.containsKey(id))
        throw new IllegalArgumentException("peer id " + id + " appears twice in --peers");
      if (out.containsValue(a))
        throw new IllegalArgumentException("address " + addr + " appears twice in --peers");
      out.put(id, a);
    }
    return new Peers(out);
  }

  /** {@code HOST:PORT} of a member, as Ratis takes it. */
  public String address(String id) {
    InetSocketAddress a = members.get(id);
    return format(a.getHostString(), a.getPort());
  }

  /** {@code HOST:PORT}, an IPv6 literal in brackets: an address as Ratis dials it. */
  static String format(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  public String format() {
    StringBuilder b = new StringBuilder();
    for (String id : members.keySet())
      b.append(b.length() == 0 ? "" : ",").append(id).append('=').append(address(id));
    return b.toString();
  }
}
