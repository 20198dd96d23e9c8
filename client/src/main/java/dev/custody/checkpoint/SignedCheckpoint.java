package dev.custody.checkpoint;

/** A checkpoint together with the signed note it was read from or published as. */
public record SignedCheckpoint(Checkpoint checkpoint, String note) {
  public long size() {
    return checkpoint.size();
  }
}
