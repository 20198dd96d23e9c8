#!/usr/bin/env bash
# Fuzz every parser target with Jazzer, ROUNDS times (default 1). Each round gives each target the
# 5 s its @FuzzTest annotation sets; the targets are ParserFuzzTest's @FuzzTest methods (that class
# is the one list), run by FuzzTargetsIT two at a time. The corpus Jazzer grows in .cifuzz-corpus/
# carries over from round to round, so
#   bash fuzz/run.sh 720      # about an hour per target
# is a long campaign. A finding stops the run; Jazzer saves the input under
# client/src/test/resources/dev/custody/fuzz/ParserFuzzTestInputs/<target>/, where it becomes a
# regression seed that every `mvn -B verify` replays: fix the bug, then commit the seed.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-1}"
mvn -B -q install -DskipTests -pl proto,client -am
mvn -B -pl client failsafe:integration-test failsafe:verify -Dit.test=FuzzTargetsIT -Dfuzz.rounds="$rounds"
