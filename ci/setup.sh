#!/usr/bin/env bash
# One-time set-up on a fresh machine: Python peers (into .venv, wheels cached in
# ~/.cache/pip so repeat runs are fast) and a build of the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum ci/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r ci/requirements.txt
  echo "$want" >"$stamp"
fi

# The features ci/test.sh tests with, so its test build reuses this one.
cargo build --workspace --all-targets --features bitnet-engine/gpu
cargo build --release -p perf-gate -p bitnet-engine
echo "setup: done"
