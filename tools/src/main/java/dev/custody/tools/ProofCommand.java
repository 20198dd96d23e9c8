package dev.custody.tools;

import dev.custody.api.v1.ConsistencyProof;
import dev.custody.api.v1.GetConsistencyProofRequest;
import dev.custody.api.v1.GetInclusionProofRequest;
import dev.custody.api.v1.InclusionProof;
import dev.custody.logclient.LogClient;
import dev.custody.note.Base64s;
import dev.custody.verify.TrustPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
    name = "proof",
    mixinStandardHelpOptions = true,
    description = {
      "Proofs from the log. With --index: the entry's proof of inclusion as a C2SP tlog-proof file "
          + "(c2sp.org/tlog-proof@v1: the leaf, its inclusion proof and the signed checkpoint with "
          + "its cosignatures), which `custody verify-proof` and other tlog tools check offline. "
          + "The subcommands print raw proofs, hashes in base64.",
      "",
      "Example:",
      "  custody proof --server log.example:8443 --policy policy.json \\",
      "      --index 42 --out 42.tlog-proof"
    },
    subcommands = {ProofCommand.Inclusion.class, ProofCommand.Consistency.class})
final class ProofCommand implements Callable<Integer> {
  @Mixin LogOptions conn;

  @Option(names = "--index", description = "The entry to prove (0 is the first)")
  Long index;

  @Option(
      names = "--format",
      defaultValue = "tlog-proof",
      description = "tlog-proof (the only format of a proof file). Default: ${DEFAULT-VALUE}")
  String format;

  @Option(
      names = "--policy",
      description =
          "Trust policy naming the log's keys: the checkpoint is checked against them, and the proof "
              + "against its root, before the file is written (required with --index)")
  Path policy;

  @Option(
      names = "--out",
      description = "File to write (by convention *.tlog-proof); default: standard output")
  Path out;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (index == null)
      throw new ParameterException(
          spec.commandLine(), "give --index N for a tlog-proof file, or a subcommand");
    if (!format.equals("tlog-proof"))
      throw new ParameterException(
          spec.commandLine(), "--format: only tlog-proof (raw proofs: custody proof inclusion)");
    if (policy == null)
      throw new ParameterException(
          spec.commandLine(), "--policy is required: a proof file is checked before it is written");
    TrustPolicy p = TrustPolicy.read(policy);
    try (LogClient c = conn.builder().trust(p.logVerifier()).build()) {
      byte[] file = c.tlogProof(index).encode();
      if (out == null) {
        System.out.write(file);
        System.out.flush();
      } else {
        Files.write(out, file);
        System.err.println("wrote " + out + ": entry " + index);
      }
    }
    return 0;
  }

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
