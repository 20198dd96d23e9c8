package dev.custody.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Hosts for a campaign's nodes: one Linux network namespace per node, each joined by a veth pair to
 * a bridge in the campaign's own namespace (which reaches them at {@link #address}). Cutting a
 * node's link is a real network partition: its packets go nowhere, in both directions, and its
 * connections hang rather than fail. Needs root and iproute2 ({@code ip}); names carry the
 * campaign's process id, so campaigns do not collide, and {@link #close} removes everything.
 */
final class Netns implements AutoCloseable {
  private final String tag;
  private final int subnet;
  private final int hosts;
  private final List<String> made = new ArrayList<>();

  Netns(int hosts) throws IOException, InterruptedException {
    long pid = ProcessHandle.current().pid();
    this.tag = Long.toString(pid % 100_000);
    this.subnet = (int) (pid % 200) + 20;
    this.hosts = hosts;
    try {
      ip("link", "add", bridge(), "type", "bridge");
      made.add("link:" + bridge());
      ip("addr", "add", "10.77." + subnet + ".254/24", "dev", bridge());
      ip("link", "set", bridge(), "up");
      for (int i = 1; i <= hosts; i++) {
        String ns = namespace(i);
        ip("netns", "add", ns);
        made.add("netns:" + ns);
        ip("link", "add", veth(i), "type", "veth", "peer", "name", veth(i) + "p");
        made.add("link:" + veth(i));
        ip("link", "set", veth(i) + "p", "netns", ns);
        ip("link", "set", veth(i), "master", bridge());
        ip("link", "set", veth(i), "up");
        ip("netns", "exec", ns, "ip", "addr", "add", address(i) + "/24", "dev", veth(i) + "p");
        ip("netns", "exec", ns, "ip", "link", "set", veth(i) + "p", "up");
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
      }
    } catch (IOException | InterruptedException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** Host {@code i}'s address (1-based), reachable from the campaign. */
  String address(int i) {
    return "10.77." + subnet + "." + i;
  }

  /** The command prefix that runs a program on host {@code i}. */
  List<String> on(int i) {
    return List.of("ip", "netns", "exec", namespace(i));
  }

  /** Cuts host {@code i} off from every other host and from the campaign. */
  void cut(int i) throws IOException, InterruptedException {
    ip("link", "set", veth(i), "down");
  }

  void heal(int i) throws IOException, InterruptedException {
    ip("link", "set", veth(i), "up");
  }

  private String bridge() {
    return "cb" + tag;
  }

  private String namespace(int i) {
    return "custody" + tag + "n" + i;
  }

  private String veth(int i) {
    return "cv" + tag + i;
  }

  private static void ip(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("ip"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) throw new IOException(String.join(" ", cmd) + " failed: " + out.trim());
  }

  @Override
  public void close() {
    for (int k = made.size() - 1; k >= 0; k--) {
      String[] what = made.get(k).split(":", 2);
      try {
        if (what[0].equals("netns")) {
          ip("netns", "del", what[1]);
        } else {
          ip("link", "del", what[1]);
        }
      } catch (IOException | InterruptedException e) {
        // a veth goes with its namespace; keep removing the rest
      }
    }
    made.clear();
  }
}
