package dev.custody.tools;

import dev.custody.api.v1.GetCheckpointRequest;
import dev.custody.logclient.LogClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
    name = "checkpoint",
    mixinStandardHelpOptions = true,
    description =
        "Print the log's latest signed checkpoint (a C2SP signed note), exactly as the log signed it.")
final class CheckpointCommand implements Callable<Integer> {
  @Mixin LogOptions conn;

  @Override
  public Integer call() {
    try (LogClient c = conn.client()) {
      System.out.print(
          c.logStub().getCheckpoint(GetCheckpointRequest.getDefaultInstance()).getSignedNote());
    }
    return 0;
  }
}
