package dev.custody.oci;

import dev.custody.chain.LinkException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reading files of an OCI layout someone else made: only regular files inside the layout, never
 * through a symbolic link (which could point at /dev/zero or a secret), never a FIFO (which would
 * block for ever) or a device, and never more bytes than the descriptor promised.
 */
final class LayoutFiles {
  private LayoutFiles() {}

  /** More bytes than allowed; reported to the user as a refused file. */
  static final class TooLargeException extends IOException {
    TooLargeException(String message) {
      super(message);
    }
  }

  /**
   * Opens {@code file} for reading after checking it.
   *
   * @param expectedSize the descriptor's size, which the file must have exactly; -1 when none is
   *     given
   */
  static InputStream open(Path layout, Path file, long expectedSize)
      throws IOException, LinkException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new LinkException(layout.relativize(file) + " is missing from the layout");
    }
    if (a.isSymbolicLink())
      throw new LinkException(
          layout.relativize(file) + " is a symbolic link; a layout's blobs must be files");
    if (!a.isRegularFile())
      throw new LinkException(
          layout.relativize(file) + " is not a regular file (a device, FIFO or folder?)");
    // The folders on the way must not lead out of the layout either.
    Path real = file.getParent().toRealPath();
    if (!real.startsWith(layout.toRealPath()))
      throw new LinkException(layout.relativize(file) + " lies outside the layout");
    if (expectedSize >= 0 && a.size() != expectedSize) {
      throw new LinkException(
          layout.relativize(file)
              + " is "
              + a.size()
              + " bytes but its descriptor says "
              + expectedSize
              + " (tampered?)");
    }
    SeekableByteChannel ch =
        Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    long limit = expectedSize >= 0 ? expectedSize : a.size();
    return capped(
        Channels.newInputStream(ch), limit, layout.relativize(file) + " grew while being read");
  }

  /**
   * Reads a small file whole: at most {@code max} bytes, and exactly {@code expectedSize} when
   * given.
   */
  static byte[] read(Path layout, Path file, long expectedSize, long max)
      throws IOException, LinkException {
    try (InputStream in = open(layout, file, expectedSize)) {
      byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
      if (b.length > max)
        throw new TooLargeException(layout.relativize(file) + " is over " + max + " bytes");
      return b;
    }
  }

  /** A stream that fails with {@code message} once more than {@code max} bytes come through it. */
  static InputStream capped(InputStream in, long max, String message) {
    return new FilterInputStream(in) {
      private long seen;

      private int count(int n) throws TooLargeException {
        if (n > 0) {
          seen += n;
          if (seen > max) throw new TooLargeException(message);
        }
        return n;
      }

      @Override
      public int read() throws IOException {
        int b = super.read();
        if (b >= 0) count(1);
        return b;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return count(super.read(b, off, len));
      }
    };
  }
}
