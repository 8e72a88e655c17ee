#!/usr/bin/env bash
# The blocking CI job: measure this checkout (--quick: criterion settings
# that only groups without their own apply; see README), compare it with
# the committed baseline, write the gate report, and pass the gate's exit code
# through: 0 PASS, 1 FAIL (a significant slowdown beyond the threshold, or a
# failed accuracy check), 2 usage or input error (bad baseline, build failure).
#
# Env (all optional):
#   PERF_GATE_BASELINE  baseline to judge against (default baselines/254.json)
#   PERF_GATE_REPORT    markdown report (default reports/perf-gate.md; the JSON
#                       report goes next to it with .json)
#   PERF_GATE_RUNS      benchmark processes per suite (default 3): the gate
#                       then tests per-process means, so a process that ran
#                       slow as a whole (CPU frequency, a neighbour on a
#                       shared host) counts once, not as 30 slow samples.
#                       1 is faster but judges on samples of one process,
#                       which false-alarms on shared machines (see README).
#   PERF_GATE_ARGS      extra arguments for `perf-gate compare`, e.g.
#                       "--matrix cpu-avx512 --suite kernels --threshold 7"
set -uo pipefail
cd "$(dirname "$0")/.."

baseline="${PERF_GATE_BASELINE:-baselines/254.json}"
report="${PERF_GATE_REPORT:-reports/perf-gate.md}"
json="${report%.md}.json"
accuracy=target/perf-gate/accuracy.json

if [ ! -f "$baseline" ]; then
  echo "perf-gate.sh: baseline $baseline not found" >&2
  exit 2
fi
cargo build --release -p perf-gate -p bitnet-engine || exit 2

# The engine's accuracy checks go into the report; a failed check fails the job
# even when the timings pass.
target/release/bitnet accuracy --json "$accuracy"
accuracy_rc=$?
if [ ! -f "$accuracy" ]; then
  echo "perf-gate.sh: bitnet accuracy wrote no $accuracy (exit $accuracy_rc)" >&2
  exit 2
fi

# shellcheck disable=SC2086 # PERF_GATE_ARGS is a list of words on purpose
target/release/perf-gate compare --baseline "$baseline" --quick --runs "${PERF_GATE_RUNS:-3}" \
  --accuracy "$accuracy" --report "$report" --json "$json" ${PERF_GATE_ARGS:-}
gate_rc=$?

echo "perf-gate.sh: gate exit $gate_rc, accuracy exit $accuracy_rc; report $report" >&2
if [ "$gate_rc" -ne 0 ]; then
  exit "$gate_rc"
fi
[ "$accuracy_rc" -eq 0 ] || exit 1
exit 0
