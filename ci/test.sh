#!/usr/bin/env bash
# The test command: formatting, lints (with and without the gpu feature), and
# every test of the workspace. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/env.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --workspace --all-targets --features bitnet-engine/gpu -- -D warnings
cargo build --workspace --features bitnet-engine/gpu
cargo test --workspace --features bitnet-engine/gpu
