#!/usr/bin/env bash
# The test command: formatting, lints (with and without the gpu feature), doc
# links, and every test of the workspace. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --workspace --all-targets --features bitnet-engine/gpu,bitnet-benches/gpu -- -D warnings
# Doc links must resolve: a comment that names a layout or a kernel should
# lead to it.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --features bitnet-engine/gpu,bitnet-benches/gpu
cargo build --workspace --features bitnet-engine/gpu
cargo test --workspace --features bitnet-engine/gpu
# The GPU execution tests once more with output shown, so the log carries
# their skip line on a machine without a device (libtest captures it).
cargo test -p bitnet-engine --features gpu --test cuda_exec -- --nocapture
# The gpu suite's no-device path: criterion's test mode runs it once and it
# must print its skip line (or, on a GPU machine, run every benchmark once).
cargo test -p bitnet-benches --features gpu --bench gpu 2>&1 | tee target/gpu-bench-test.log
grep -qE "skipped: gpu benches need a CUDA device|Success" target/gpu-bench-test.log
