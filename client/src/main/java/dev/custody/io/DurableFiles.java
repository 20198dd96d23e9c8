package dev.custody.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * Files that must survive a crash and never be half-written, and private keys that must stay
 * private. Every write here goes to a new file beside the target, is forced to disk, and is then
 * renamed over the target, whose folder is forced too: after a power loss a reader finds the old
 * contents or the new, never a mix or an empty file.
 */
public final class DurableFiles {
  private DurableFiles() {}

  /** rw-r--r--: state and published files, readable by a web server running as another user. */
  public static final Set<PosixFilePermission> PUBLIC =
      PosixFilePermissions.fromString("rw-r--r--");

  /** rw-------: private keys. */
  public static final Set<PosixFilePermission> PRIVATE =
      PosixFilePermissions.fromString("rw-------");

  /** Temporary files left by a write that a crash interrupted end in this. */
  public static final String TEMP_SUFFIX = ".custody-tmp";

  /** An action on files, under {@link #locked}. */
  @FunctionalInterface
  public interface Action<T> {
    T run() throws IOException;
  }

  /** Replaces {@code file} with {@code data}: atomically and durably, with {@code permissions}. */
  public static void replace(Path file, byte[] data, Set<PosixFilePermission> permissions)
      throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp =
        Files.createTempFile(
            dir,
            "." + file.getFileName(),
            TEMP_SUFFIX,
            PosixFilePermissions.asFileAttribute(permissions));
    try {
      write(tmp, data, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
      Files.setPosixFilePermissions(
          tmp, permissions); // createTempFile's attribute is masked by the umask
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    forceFolder(dir);
  }

  /**
   * Creates {@code file}, which must not exist yet (not even as a symbolic link, which is never
   * followed), writes {@code data} to the handle it created and forces it to disk.
   */
  public static void createNew(Path file, byte[] data, Set<PosixFilePermission> permissions)
      throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Set<OpenOption> options =
        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    try (FileChannel ch =
        FileChannel.open(file, options, PosixFilePermissions.asFileAttribute(permissions))) {
      ByteBuffer b = ByteBuffer.wrap(data);
      while (b.hasRemaining()) ch.write(b);
      ch.force(true);
    } catch (FileAlreadyExistsException e) {
      throw new FileAlreadyExistsException(file + " exists; refusing to overwrite it");
    }
    Files.setPosixFilePermissions(file, permissions);
    forceFolder(dir);
  }

  /**
   * Publishes {@code data} as {@code file} if no file has that name yet, whole or not at all: the
   * bytes are written to a temporary file and forced to disk, then linked under the name (which
   * fails if the name exists, atomically), then the folder is forced. A reader never sees a partial
   * file under the name, even after a crash.
   *
   * @return true if this call created the file; false if a file of that name was already there (the
   *     caller compares its bytes)
   */
  public static boolean publishNew(Path file, byte[] data, Set<PosixFilePermission> permissions)
      throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) return false;
    Path tmp =
        Files.createTempFile(
            dir,
            "." + file.getFileName(),
            TEMP_SUFFIX,
            PosixFilePermissions.asFileAttribute(permissions));
    try {
      write(tmp, data, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
      Files.setPosixFilePermissions(tmp, permissions);
      try {
        Files.createLink(file, tmp);
      } catch (FileAlreadyExistsException raced) {
        return false;
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    forceFolder(dir);
    return true;
  }

  private static void write(Path file, byte[] data, StandardOpenOption... options)
      throws IOException {
    try (FileChannel ch = FileChannel.open(file, options)) {
      ByteBuffer b = ByteBuffer.wrap(data);
      while (b.hasRemaining()) ch.write(b);
      ch.force(true);
    }
  }

  /** Forces a folder's entries (a rename, a new file) to disk. */
  public static void forceFolder(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /**
   * Runs {@code action} holding an exclusive lock on {@code lockFile} (created if missing): other
   * processes, and other threads of this one, wait. For read-check-write sequences on a shared
   * file.
   */
  public static <T> T locked(Path lockFile, Action<T> action) throws IOException {
    Files.createDirectories(lockFile.toAbsolutePath().getParent());
    try (FileChannel ch =
        FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      FileLock lock = null;
      while (lock == null) {
        try {
          lock = ch.lock();
        } catch (OverlappingFileLockException heldHere) {
          // Another thread of this JVM holds it: file locks are per process, so wait our turn.
          try {
            Thread.sleep(2);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for " + lockFile, e);
          }
        }
      }
      try {
        return action.run();
      } finally {
        lock.release();
      }
    }
  }

  /**
   * Reads a private key file: it must be a regular file (not a symbolic link) that only its owner
   * can read or write, as ssh insists for its keys.
   */
  public static String readPrivate(Path file) throws IOException {
    if (Files.isSymbolicLink(file)) {
      throw new IOException(file + " is a symbolic link; give the key file itself");
    }
    Set<PosixFilePermission> p = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
    for (PosixFilePermission bad :
        EnumSet.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE)) {
      if (p.contains(bad)) {
        throw new IOException(
            "the private key "
                + file
                + " is readable or writable by others ("
                + PosixFilePermissions.toString(p)
                + "); run: chmod 600 "
                + file);
      }
    }
    return Files.readString(file);
  }
}
