package dev.custody.server.admission;

import dev.custody.server.sequencer.Admitted;

/**
 * The first stage of the write path: decide whether bytes from a submitter may enter the log. Runs
 * on many threads at once, outside the sequencer; must not change any state.
 */
@FunctionalInterface
public interface Admission {
  Admitted admit(byte[] entry) throws AdmissionException;

  /**
   * True when admitting costs so little (no signature check) that it may run on a transport thread.
   */
  default boolean cheap() {
    return false;
  }

  /** Larger entries are refused by {@link #admit} at once, without a signature check. */
  default int maxEntryBytes() {
    return 65_535;
  }
}
