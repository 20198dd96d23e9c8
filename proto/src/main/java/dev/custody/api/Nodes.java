package dev.custody.api;

import io.grpc.Attributes;
import io.grpc.ChannelCredentials;
import io.grpc.EquivalentAddressGroup;
import io.grpc.Grpc;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.StatusOr;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * A channel to a log given as one address or several ({@code host:port[,host:port...]}: the nodes
 * of a cluster). With several, gRPC's pick_first connects to the first node that answers and moves
 * to the next when its connection fails (a node killed or restarting), while {@link ClientRetries}
 * retries the call with backoff: a client rides through a node's death. Names are resolved by the
 * JVM when a connection is made.
 */
public final class Nodes {
  private Nodes() {}

  private static final String SCHEME = "custody-nodes";

  /** The addresses in {@code spec}; the message says what is wrong, for a person. */
  public static List<InetSocketAddress> parse(String spec) {
    List<InetSocketAddress> out = new ArrayList<>();
    for (String part : spec.split(",")) {
      InetSocketAddress a = hostPort(part.trim());
      if (a.getPort() == 0)
        throw new IllegalArgumentException(
            "'" + part.trim() + "': port 0 is not a port to connect to");
      out.add(a);
    }
    return out;
  }

  /**
   * {@code HOST:PORT} or {@code [IPv6]:PORT}, unresolved; the port 0..65535 (0: "pick one", for a
   * listener). The one parser of such addresses: the message says what is wrong, for a person.
   */
  public static InetSocketAddress hostPort(String s) {
    int colon = s.lastIndexOf(':');
    if (colon <= 0) throw new IllegalArgumentException("'" + s + "' is not host:port");
    int port;
    try {
      port = Integer.parseInt(s.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + s + "' has no port number");
    }
    if (port < 0 || port > 65535)
      throw new IllegalArgumentException("'" + s + "': port out of range");
    String host = s.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    return InetSocketAddress.createUnresolved(host, port);
  }

  /** A channel builder for {@code spec} (one address, or several nodes), with these credentials. */
  public static ManagedChannelBuilder<?> channel(String spec, ChannelCredentials credentials) {
    List<InetSocketAddress> nodes = parse(spec);
    if (nodes.size() == 1) {
      return Grpc.newChannelBuilderForAddress(
          nodes.get(0).getHostString(), nodes.get(0).getPort(), credentials);
    }
    NameResolverRegistry registry =
        new NameResolverRegistry(); // this channel's own, not the global one
    registry.register(new Fixed(nodes));
    return Grpc.newChannelBuilder(SCHEME + ":///" + spec.replace(" ", ""), credentials)
        .nameResolverFactory(registry.asFactory())
        .defaultLoadBalancingPolicy("pick_first");
  }

  /** Resolves to the given addresses, in order. */
  private static final class Fixed extends NameResolverProvider {
    private final List<InetSocketAddress> nodes;

    Fixed(List<InetSocketAddress> nodes) {
      this.nodes = nodes;
    }

    @Override
    public NameResolver newNameResolver(URI target, NameResolver.Args args) {
      if (!SCHEME.equals(target.getScheme())) return null;
      return new NameResolver() {
        private Listener2 listener;

        @Override
        public String getServiceAuthority() {
          return nodes.get(0).getHostString();
        }

        @Override
        public void start(Listener2 l) {
          listener = l;
          resolve();
        }

        @Override
        public void refresh() {
          resolve();
        }

        private void resolve() {
          List<EquivalentAddressGroup> groups = new ArrayList<>();
          for (InetSocketAddress a : nodes) {
            groups.add(
                new EquivalentAddressGroup(new InetSocketAddress(a.getHostString(), a.getPort())));
          }
          listener.onResult(
              ResolutionResult.newBuilder()
                  .setAddressesOrError(StatusOr.fromValue(groups))
                  .setAttributes(Attributes.EMPTY)
                  .build());
        }

        @Override
        public void shutdown() {}
      };
    }

    @Override
    public String getDefaultScheme() {
      return SCHEME;
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 5;
    }

    @Override
    public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
      return List.of(InetSocketAddress.class);
    }
  }
}
