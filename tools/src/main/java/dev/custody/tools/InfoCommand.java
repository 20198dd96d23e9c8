package dev.custody.tools;

import dev.custody.api.v1.GetLogInfoRequest;
import dev.custody.api.v1.LogInfo;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Print the log's origin and verifier key, for a trust policy. Check them through a trusted channel.")
final class InfoCommand implements Callable<Integer> {
  @Mixin LogConnection.Options conn;

  @Override public Integer call() {
    try (LogConnection c = new LogConnection(conn)) {
      LogInfo i = c.log().getLogInfo(GetLogInfoRequest.getDefaultInstance());
      System.out.println("origin " + i.getOrigin());
      System.out.println("verifier_key " + i.getVerifierKey());
    }
    return 0;
  }
}
