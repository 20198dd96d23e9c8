package dev.custody.server.admission;

import dev.custody.server.sequencer.Admitted;
import java.util.Optional;

/**
 * The first stage of the write path: decide whether bytes from a submitter may enter the log. Runs
 * on many threads at once, outside the sequencer; must not change any state.
 */
@FunctionalInterface
public interface Admission {
  Admitted admit(byte[] entry) throws AdmissionException;

  /**
   * Entries submitted before this one in the same request, by id ({@link #idOf}): where a
   * predecessor may stand that the log does not hold yet. The caller sequences such an entry only
   * after the one it stands on.
   */
  @FunctionalInterface
  interface Earlier {
    Earlier NONE = id -> Optional.empty();

    /** The bytes of the earlier entry with this id, if the request holds one. */
    Optional<byte[]> entry(byte[] id);
  }

  /**
   * Admits {@code entry}, whose predecessor may also be among {@code earlier}. The default ignores
   * {@code earlier}: entries that stand on nothing.
   */
  default Admitted admit(byte[] entry, Earlier earlier) throws AdmissionException {
    return admit(entry);
  }

  /**
   * The id another entry names when it stands on this one (a link's link_id), if {@code entry} has
   * one; cheap (no signature check), and says nothing of validity.
   */
  default Optional<byte[]> idOf(byte[] entry) {
    return Optional.empty();
  }

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
