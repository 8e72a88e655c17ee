#!/usr/bin/env bash
# Thread scaling of the GEMV kernels, measured by criterion on a noisy host.
#
# One criterion run times a format's 1-thread and 2-thread benchmark a few
# seconds apart; on a shared VM whose cores slow down for seconds at a
# time, one such pair can be off by 10% either way. This repeats the pairs
# and reports the median and range of the per-run speedups
# (1-thread time / 2-thread time = 2-thread throughput / 1-thread
# throughput, criterion's mean estimates), so a claim about scaling rests
# on several pairs, not on the luckiest or unluckiest one.
#
# usage: ci/scaling.sh [runs=5] [shape=640x2560] [formats="i2s tl1 tl2 tq2_0"]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shape=${2:-640x2560}
formats=${3:-i2s tl1 tl2 tq2_0}
pattern="^gemv/($(echo "$formats" | tr ' ' '|'))/${shape}/"
log=target/scaling-${shape}.tsv
mkdir -p target
: > "$log"
for run in $(seq "$runs"); do
  # criterion's progress goes to a log; a failure still stops the script.
  cargo bench -q -p bitnet-benches --bench kernels -- "$pattern" > target/scaling-bench.log 2>&1 ||
    { cat target/scaling-bench.log; exit 1; }
  for f in $formats; do
    python3 - "$f" "$shape" "$run" >> "$log" <<'EOF'
import json, sys
f, shape, run = sys.argv[1:]
est = lambda t: json.load(open(f"target/criterion/gemv/{f}/{shape}_{t}t/new/estimates.json"))["mean"]["point_estimate"]
one, two = est(1), est(2)
print(f"{f}\t{run}\t{one / 1e3:.3f}\t{two / 1e3:.3f}\t{one / two:.3f}")
EOF
  done
done
python3 - "$log" "$shape" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
print(f"gemv {sys.argv[2]}: speedup of 2 threads over 1 (criterion means), per run")
for f in dict.fromkeys(r[0] for r in rows):
    mine = [r for r in rows if r[0] == f]
    s = sorted(float(r[4]) for r in mine)
    one = statistics.median(float(r[2]) for r in mine)
    two = statistics.median(float(r[3]) for r in mine)
    print(f"  {f:6} median {statistics.median(s):.2f}x  range {s[0]:.2f}-{s[-1]:.2f}  "
          f"runs {len(s)}  (median times {one:.2f} / {two:.2f} us)")
EOF
