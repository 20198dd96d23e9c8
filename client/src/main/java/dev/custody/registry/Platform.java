package dev.custody.registry;

/**
 * Which image of a multi-platform index: {@code os/architecture[/variant]} as in {@code docker
 * --platform}, e.g. {@code linux/amd64} or {@code linux/arm64/v8}.
 *
 * @param variant "" when not given; then any variant of the architecture matches
 */
public record Platform(String os, String architecture, String variant) {
  /** What an image index is resolved to when nobody says: the platform most clusters run. */
  public static final Platform DEFAULT = new Platform("linux", "amd64", "");

  public static Platform parse(String s) {
    String[] p = s.split("/", -1);
    if (p.length < 2 || p.length > 3 || p[0].isEmpty() || p[1].isEmpty()) {
      throw new IllegalArgumentException(
          "--platform \"" + s + "\": give os/architecture[/variant], e.g. linux/amd64");
    }
    return new Platform(p[0], p[1], p.length == 3 ? p[2] : "");
  }

  boolean matches(String os, String architecture, String variant) {
    return this.os.equals(os)
        && this.architecture.equals(architecture)
        && (this.variant.isEmpty() || this.variant.equals(variant));
  }

  @Override
  public String toString() {
    return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
  }
}
