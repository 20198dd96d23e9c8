package dev.custody.server.keys;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Collectors;

/**
 * Every key a log has signed checkpoints with, in the order it first used them, and when each was
 * retired. The rules of rotation live here, as one pure function ({@link #admit}): a new key only
 * ever joins as the next key beside a key the log already has; every key the log has not retired
 * must be given at each start (so no key drops out by a forgotten flag); a retired key never signs
 * again. Stored as text in the log's store, one key per line: {@code <vkey> <added ms> <retired ms
 * or ->}.
 */
public record KeyHistory(List<Key> keys) {
  /**
   * @param addedMs when the log first signed with it; 0 for a key recorded before rotation existed
   */
  public record Key(String verifierKey, long addedMs, OptionalLong retiredMs) {
    public boolean retired() {
      return retiredMs.isPresent();
    }
  }

  public static final KeyHistory EMPTY = new KeyHistory(List.of());

  public KeyHistory {
    keys = List.copyOf(keys);
  }

  /** A log from before rotation: its one key, since an unknown time. */
  public static KeyHistory legacy(String verifierKey) {
    return new KeyHistory(List.of(new Key(verifierKey, 0, OptionalLong.empty())));
  }

  public Optional<Key> find(String verifierKey) {
    return keys.stream().filter(k -> k.verifierKey().equals(verifierKey)).findFirst();
  }

  /**
   * The history after a start that signs with {@code key} and, while rotating, {@code next}, and
   * retires {@code retire}, at {@code nowMs}; or why that start must not happen. A new log (empty
   * history) takes its keys as given.
   */
  public KeyHistory admit(String key, Optional<String> next, List<String> retire, long nowMs)
      throws LogKeyException {
    if (next.isPresent() && next.get().equals(key))
      throw new LogKeyException("the next key is the log's key itself: " + key);
    if (keys.isEmpty()) {
      if (!retire.isEmpty()) throw new LogKeyException("a new log has no key to retire");
      List<Key> out = new ArrayList<>(List.of(new Key(key, nowMs, OptionalLong.empty())));
      next.ifPresent(n -> out.add(new Key(n, nowMs, OptionalLong.empty())));
      return new KeyHistory(out);
    }
    List<String> signing = new ArrayList<>(List.of(key));
    next.ifPresent(signing::add);
    for (String r : retire) {
      if (find(r).isEmpty())
        throw new LogKeyException(
            "--retire-key " + r + " is not a key of this log; its keys: " + describe());
      if (signing.contains(r))
        throw new LogKeyException("the key " + r + " is both given to sign and to retire");
    }
    for (String s : signing) {
      Optional<Key> k = find(s);
      if (k.isPresent() && k.get().retired()) {
        throw new LogKeyException(
            "the key "
                + s
                + " was retired at "
                + Instant.ofEpochMilli(k.get().retiredMs().getAsLong())
                + "; a retired key never signs this log again");
      }
    }
    if (find(key).isEmpty()) {
      throw new LogKeyException(
          "the key "
              + key
              + " is not the key this log was started with, nor one it rotated to (its"
              + " keys: "
              + describe()
              + "). To change the log's key, first run with the new key as --next-key-file"
              + " (or --next-key-uri) so that both sign, then make it the key and --retire-key the old one");
    }
    List<Key> out = new ArrayList<>();
    for (Key k : keys) {
      if (!k.retired() && retire.contains(k.verifierKey())) {
        out.add(new Key(k.verifierKey(), k.addedMs(), OptionalLong.of(nowMs)));
      } else if (!k.retired() && !signing.contains(k.verifierKey())) {
        throw new LogKeyException(
            "the log's key "
                + k.verifierKey()
                + " is not given: sign with it (--key-file,"
                + " --key-uri, --next-key-file or --next-key-uri), or retire it for good with --retire-key");
      } else {
        out.add(k);
      }
    }
    if (next.isPresent() && find(next.get()).isEmpty())
      out.add(new Key(next.get(), nowMs, OptionalLong.empty()));
    return new KeyHistory(out);
  }

  public String encode() {
    StringBuilder b = new StringBuilder();
    for (Key k : keys) {
      b.append(k.verifierKey())
          .append(' ')
          .append(k.addedMs())
          .append(' ')
          .append(k.retiredMs().isPresent() ? Long.toString(k.retiredMs().getAsLong()) : "-")
          .append('\n');
    }
    return b.toString();
  }

  /** requires text written by {@link #encode}; anything else is a damaged store */
  public static KeyHistory decode(String text) throws LogKeyException {
    List<Key> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isEmpty()) continue;
      String[] f = line.split(" ");
      try {
        if (f.length != 3) throw new NumberFormatException();
        out.add(
            new Key(
                f[0],
                Long.parseLong(f[1]),
                f[2].equals("-") ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(f[2]))));
      } catch (NumberFormatException e) {
        throw new LogKeyException(
            "the store's record of the log's keys is damaged: \"" + line + "\"");
      }
    }
    return new KeyHistory(out);
  }

  private String describe() {
    return keys.stream()
        .map(k -> k.verifierKey() + (k.retired() ? " (retired)" : ""))
        .collect(Collectors.joining(", "));
  }
}
