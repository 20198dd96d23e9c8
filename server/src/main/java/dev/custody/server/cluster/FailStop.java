package dev.custody.server.cluster;

/**
 * What a node does when it meets a committed Raft entry it cannot apply: it stops. Skipping the
 * entry would be safe only if every node skipped it; a node that reads it differently (another
 * version, a bug) would apply it, and the log would fork. A node that stops leaves the others
 * running with a majority, or halts the cluster until an operator looks: both recoverable, unlike a
 * fork.
 */
@FunctionalInterface
interface FailStop {
  /** Called on the apply thread; must not return normally in production. */
  void stop(String why);

  /** The exit code of a node that stopped on an entry it cannot apply (EX_SOFTWARE). */
  int EXIT_CODE = 70;

  /**
   * Says why on standard error and ends the process at once with exit code {@value #EXIT_CODE}.
   * {@code Runtime.halt}, not {@code exit}: the shutdown hook stops Ratis, which joins the very
   * thread that calls this. Nothing is lost: the store's writes are replayed from the Raft log.
   */
  FailStop HALT =
      why -> {
        System.err.println("custody: FATAL: stopping this node: " + why);
        System.err.flush();
        Runtime.getRuntime().halt(EXIT_CODE);
      };
}
