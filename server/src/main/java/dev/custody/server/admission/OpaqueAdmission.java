package dev.custody.server.admission;

import dev.custody.server.sequencer.Admitted;

/**
 * Accepts any entry of 1..65,535 bytes as its own leaf (the size bound of a tlog-tiles entry
 * bundle). For tests and for logs of other artefacts; identical bytes are one entry.
 */
public final class OpaqueAdmission implements Admission {
  public static final int MAX_ENTRY_BYTES = 65_535;

  @Override
  public boolean cheap() {
    return true;
  }

  @Override
  public Admitted admit(byte[] entry) throws AdmissionException {
    if (entry.length == 0)
      throw new AdmissionException.Malformed("entry is empty; an entry is 1 to 65535 bytes");
    if (entry.length > MAX_ENTRY_BYTES) {
      throw new AdmissionException.Malformed(
          "entry is " + entry.length + " bytes; an entry is at most 65535 bytes");
    }
    return Admitted.opaque(entry);
  }
}
