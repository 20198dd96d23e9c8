package dev.custody.tools;

import dev.custody.api.Nodes;
import java.net.InetSocketAddress;

/** The {@code --listen HOST:PORT} option of the commands that serve (witness, verifier). */
final class Listen {
  private Listen() {}

  /** The address to bind, or an error that names the option. */
  static InetSocketAddress address(String listen) {
    try {
      return Nodes.hostPort(listen);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--listen: " + e.getMessage(), e);
    }
  }
}
