package dev.custody.server;

import dev.custody.note.NoteSigner;
import dev.custody.server.admission.OpaqueAdmission;
import dev.custody.server.sequencer.GroupCommitSequencer;
import dev.custody.server.storage.LogStorage;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Fills a store for tests through the real sequencer: opaque entries 0..total-1, each its index as
 * 8 bytes.
 */
public final class OpaqueFill {
  private OpaqueFill() {}

  /**
   * Appends entries until the log of {@code origin} in {@code s} holds {@code total}, 4,096 in
   * flight at most, then closes the sequencer.
   */
  public static void fill(LogStorage s, String origin, NoteSigner key, int total) throws Exception {
    GroupCommitSequencer seq =
        new GroupCommitSequencer(s, origin, List.of(key), 16384, 4096, (n, t) -> {});
    OpaqueAdmission admission = new OpaqueAdmission();
    for (int start = (int) seq.head().size(); start < total; start += 4096) {
      List<CompletableFuture<?>> fs = new ArrayList<>();
      for (int i = start; i < Math.min(total, start + 4096); i++) {
        fs.add(seq.add(admission.admit(ByteBuffer.allocate(8).putLong(i).array())));
      }
      for (CompletableFuture<?> f : fs) f.get(60, TimeUnit.SECONDS);
    }
    seq.close();
  }
}
