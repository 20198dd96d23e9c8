package dev.custody.registry;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An image reference, {@code HOST[:PORT]/REPO[:TAG][@sha256:HEX]}, normalised the way Docker
 * normalises it: a name without a registry host is on Docker Hub ({@code docker.io}), and a
 * one-part Docker Hub name is under {@code library/} ({@code nginx} is {@code
 * docker.io/library/nginx:latest}). The first part is a host only if it has a dot or a colon or is
 * {@code localhost} — the same rule as Docker's, so {@code team/app} is Docker Hub's.
 *
 * @param registry the registry as named ({@code docker.io}, {@code localhost:5000})
 * @param repository the repository path inside it ({@code library/nginx})
 * @param tag the tag, or null when only a digest was given (a bare name means {@code latest})
 * @param digest {@code sha256:HEX}, or null
 */
public record ImageReference(String registry, String repository, String tag, String digest) {
  public static final String DOCKER_HUB = "docker.io";

  /** Where Docker Hub's registry API answers; {@code docker.io} itself only redirects browsers. */
  public static final String DOCKER_HUB_API = "registry-1.docker.io";

  // The grammar of distribution's reference package: path components of lowercase letters and
  // digits joined by '.', '_', '__' or dashes; tags of at most 128 word characters, dots and
  // dashes.
  private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
  private static final Pattern HOST =
      Pattern.compile(
          "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
              + "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?");

  /** Distribution refuses longer names; so do we, before a request carries one. */
  private static final int MAX_NAME = 255;

  public ImageReference {
    if (tag == null && digest == null)
      throw new IllegalArgumentException("a reference needs a tag or a digest");
  }

  /**
   * Parses {@code s}.
   *
   * @throws IllegalArgumentException with a message naming what is wrong
   */
  public static ImageReference parse(String s) {
    if (s == null || s.isEmpty()) throw new IllegalArgumentException("empty image reference");
    if (s.length() > MAX_NAME + 1 + 128 + 72)
      throw new IllegalArgumentException("image reference is too long");
    String rest = s;
    String digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = rest.substring(at + 1);
      rest = rest.substring(0, at);
      if (!DIGEST.matcher(digest).matches()) {
        throw new IllegalArgumentException(
            "\"" + s + "\": the digest must be sha256: and 64 lowercase hex digits");
      }
    }
    String tag = null;
    int slash = rest.lastIndexOf('/');
    int colon = rest.lastIndexOf(':');
    if (colon > slash) {
      tag = rest.substring(colon + 1);
      rest = rest.substring(0, colon);
      if (!TAG.matcher(tag).matches())
        throw new IllegalArgumentException("\"" + s + "\": \"" + tag + "\" is not a valid tag");
    }
    String registry = DOCKER_HUB;
    int first = rest.indexOf('/');
    if (first > 0) {
      String head = rest.substring(0, first);
      if (head.contains(".")
          || head.contains(":")
          || head.equals("localhost")
          || head.startsWith("[")) {
        if (!HOST.matcher(head).matches())
          throw new IllegalArgumentException(
              "\"" + s + "\": \"" + head + "\" is not a valid registry host");
        registry = head;
        rest = rest.substring(first + 1);
      }
    }
    if (registry.equals("index.docker.io") || registry.equals(DOCKER_HUB_API))
      registry = DOCKER_HUB;
    if (registry.equals(DOCKER_HUB) && !rest.contains("/")) rest = "library/" + rest;
    if (rest.isEmpty() || rest.length() > MAX_NAME)
      throw new IllegalArgumentException("\"" + s + "\": no repository name");
    for (String part : rest.split("/", -1)) {
      if (!COMPONENT.matcher(part).matches()) {
        throw new IllegalArgumentException(
            "\""
                + s
                + "\": \""
                + part
                + "\" is not a valid repository path component "
                + "(lowercase letters, digits and . _ - between them)");
      }
    }
    if (tag == null && digest == null) tag = "latest";
    return new ImageReference(registry, rest, tag, digest);
  }

  /**
   * The fully expanded repository, no tag or digest: what a layer link names ({@code
   * docker.io/library/nginx}).
   */
  public String repositoryName() {
    return registry + "/" + repository;
  }

  /**
   * The host (and port) the registry API answers on: Docker Hub's API host for {@code docker.io}.
   */
  public String apiHost() {
    return registry.equals(DOCKER_HUB) ? DOCKER_HUB_API : registry;
  }

  /**
   * What to put after {@code /manifests/}: the digest when there is one (it pins the bytes), else
   * the tag.
   */
  public String manifestReference() {
    return digest != null ? digest : tag;
  }

  public Optional<String> digestIfPinned() {
    return Optional.ofNullable(digest);
  }

  /** The same repository at {@code digest}. */
  public ImageReference withDigest(String digest) {
    return new ImageReference(registry, repository, null, digest);
  }

  /** The same repository at {@code tag}. */
  public ImageReference withTag(String tag) {
    return new ImageReference(registry, repository, tag, null);
  }

  @Override
  public String toString() {
    return repositoryName() + (tag != null ? ":" + tag : "") + (digest != null ? "@" + digest : "");
  }
}
