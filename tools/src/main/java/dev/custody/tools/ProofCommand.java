package dev.custody.tools;

import dev.custody.api.v1.ConsistencyProof;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.logclient.LogClient;
import dev.custody.note.Base64s;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "proof",
    mixinStandardHelpOptions = true,
    description = "Raw proofs from the log, hashes in base64.",
    subcommands = {ProofCommand.Inclusion.class, ProofCommand.Consistency.class})
final class ProofCommand {
  @Command(
      name = "inclusion",
      mixinStandardHelpOptions = true,
      description = "Inclusion proof for the entry at --index.")
  static final class Inclusion implements Callable<Integer> {
    @Mixin LogOptions conn;

    @Option(names = "--index", required = true)
    long index;

    @Option(names = "--tree-size", defaultValue = "0", description = "0 = latest")
    long treeSize;

    @Override
    public Integer call() {
      try (LogClient c = conn.client()) {
        InclusionProof p =
            c.logStub()
                .getInclusionProof(
                    GetInclusionProofRequest.newBuilder()
                        .setIndex(index)
                        .setTreeSize(treeSize)
                        .build());
        System.out.println(
            "index "
                + p.getIndex()
                + " tree_size "
                + p.getTreeSize()
                + " root "
                + Base64s.encode(p.getRootHash().toByteArray()));
        p.getHashesList().forEach(h -> System.out.println(Base64s.encode(h.toByteArray())));
      }
      return 0;
    }
  }

  @Command(
      name = "consistency",
      mixinStandardHelpOptions = true,
      description = "Consistency proof between two tree sizes.")
  static final class Consistency implements Callable<Integer> {
    @Mixin LogOptions conn;

    @Option(names = "--from", required = true)
    long from;

    @Option(names = "--to", defaultValue = "0", description = "0 = latest")
    long to;

    @Override
    public Integer call() {
      try (LogClient c = conn.client()) {
        ConsistencyProof p =
            c.logStub()
                .getConsistencyProof(
                    GetConsistencyProofRequest.newBuilder()
                        .setFromSize(from)
                        .setToSize(to)
                        .build());
        System.out.println("from " + p.getFromSize() + " to " + p.getToSize());
        p.getHashesList().forEach(h -> System.out.println(Base64s.encode(h.toByteArray())));
      }
      return 0;
    }
  }
}
