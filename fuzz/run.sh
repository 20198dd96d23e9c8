#!/usr/bin/env bash
# Fuzz every parser target with Jazzer, ROUNDS times (default 1). Each round gives each target
# the 5 s its @FuzzTest annotation sets (Jazzer 0.24 does not let the command line override it);
# the corpus Jazzer grows in .cifuzz-corpus/ carries over from round to round, so
#   bash fuzz/run.sh 720      # about an hour per target
# is a long campaign. A finding stops the run; Jazzer saves the input under
# client/src/test/resources/dev/custody/fuzz/ParserFuzzTestInputs/<target>/, where it becomes a
# regression seed that every `mvn -B verify` replays: fix the bug, then commit the seed.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-1}"
targets=(signedLink leaf signedNoteAndCheckpoint tilePath entryBundle bundleAndPolicy ociManifestAndConfig
  randomProofsNeverVerify witnessRequest statement cosignedCheckpoint layoutFolder tileClientAgainstAMutatingMirror
  policySemantics witnessWithSignedCheckpoints ecdsaSignatures)
mvn -B -q install -DskipTests -pl proto,client -am
for ((r = 1; r <= rounds; r++)); do
  for t in "${targets[@]}"; do
    echo "== round $r/$rounds: fuzzing $t"
    JAZZER_FUZZ=1 mvn -B -q -pl client surefire:test -Dtest="ParserFuzzTest#$t" -Dsurefire.failIfNoSpecifiedTests=false
  done
done
echo "fuzzing done: ${#targets[@]} targets x $rounds round(s) of 5 s, no findings"
