package dev.custody.tools;

import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogInfo;
import dev.custody.api.v1.LogKey;
import dev.custody.logclient.LogClient;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
    name = "info",
    mixinStandardHelpOptions = true,
    description = {
      "Print the log's origin and verifier key, for a trust policy. Check them through a "
          + "trusted channel. While the log rotates its key, next_key names the key that signs "
          + "beside it; retired_key lines name keys the log signed with before and never signs "
          + "with again (times in UTC)."
    })
final class InfoCommand implements Callable<Integer> {
  @Mixin LogOptions conn;

  @Override
  public Integer call() {
    try (LogClient c = conn.client()) {
      LogInfo i = c.logStub().getLogInfo(GetLogInfoRequest.getDefaultInstance());
      System.out.println("origin " + i.getOrigin());
      System.out.println("verifier_key " + i.getVerifierKey());
      for (LogKey k : i.getKeysList()) {
        if (k.getVerifierKey().equals(i.getVerifierKey())) continue;
        System.out.println(
            k.getRetiredUnixMs() == 0
                ? "next_key " + k.getVerifierKey()
                : "retired_key "
                    + k.getVerifierKey()
                    + " "
                    + Instant.ofEpochMilli(k.getRetiredUnixMs()));
      }
    }
    return 0;
  }
}
