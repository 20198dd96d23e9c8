package dev.custody.server.storage;

import org.rocksdb.RocksDBException;
import org.rocksdb.Status;

/**
 * The store failed to read or write; the log cannot promise anything about this operation. {@link
 * #kind} says what failed, from RocksDB's status code (never from a message's text), so that a
 * caller can tell a full disk from a damaged store.
 */
public class StorageException extends RuntimeException {
  /** What failed. */
  public enum Kind {
    /** The disk is full: writes fail until space is freed; reads go on. */
    DISK_FULL,
    /** A file of the store does not match its checksum or format: data may be lost; restore it. */
    CORRUPTION,
    /** Any other error from the file system or device. */
    IO,
    /** The store was busy or timed out: trying again may work. */
    BUSY,
    /** Anything else, including a store this log cannot read (a missing record, a bad format). */
    OTHER
  }

  private final Kind kind;

  public StorageException(String message, Throwable cause) {
    super(message, cause);
    this.kind = cause instanceof RocksDBException r ? kindOf(r.getStatus()) : Kind.OTHER;
  }

  public StorageException(String message) {
    super(message);
    this.kind = Kind.OTHER;
  }

  public Kind kind() {
    return kind;
  }

  static Kind kindOf(Status s) {
    if (s == null) return Kind.OTHER;
    return switch (s.getCode()) {
      case Corruption -> Kind.CORRUPTION;
      case IOError -> s.getSubCode() == Status.SubCode.NoSpace ? Kind.DISK_FULL : Kind.IO;
      case Busy, TryAgain, TimedOut -> Kind.BUSY;
      default -> Kind.OTHER;
    };
  }
}
