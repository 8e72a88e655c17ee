#!/usr/bin/env bash
# Cross-validation against llama.cpp (via llama-cpp-python): logits, greedy
# continuations and decode speed on synthetic BitNet models. See
# ci/crossval.py for the criteria and the tolerance.
#
# llama-cpp-python compiles llama.cpp from source (long on 2 cores), so the
# wheel is built once into $BITNET_WHEELS (default ~/.cache/bitnet-wheels)
# and installed from there on later runs.
#
# Env: CROSSVAL_THREADS (default 2), CROSSVAL_SKIP_SPEED=1 to skip the
# 2b4t-shaped speed run (it writes a ~1.2 GB model into target/).
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_CPP_PYTHON_VERSION=0.3.36
GGUF_VERSION=0.19.0
wheels="${BITNET_WHEELS:-$HOME/.cache/bitnet-wheels}"
venv=target/crossval-venv
out=target/crossval
threads="${CROSSVAL_THREADS:-2}"
mkdir -p "$wheels" "$out"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c "import llama_cpp, gguf, numpy" 2>/dev/null; then
  if ! ls "$wheels"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl >/dev/null 2>&1; then
    echo "crossval: building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION (compiles llama.cpp; cached in $wheels)"
    "$py" -m pip install --quiet --disable-pip-version-check scikit-build-core cmake ninja
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF" \
      CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$py" -m pip wheel --no-deps --disable-pip-version-check \
      "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -w "$wheels"
  fi
  "$py" -m pip install --quiet --disable-pip-version-check --find-links "$wheels" \
    "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" "gguf==$GGUF_VERSION" numpy
fi

cargo build --release -p bitnet-engine
bitnet=target/release/bitnet

models=()
for ty in tq2_0 tq1_0 f16; do
  m="$out/tiny-$ty.gguf"
  if [ ! -f "$m" ]; then
    "$bitnet" synth --preset tiny --layers 4 --type "$ty" --arch bitnet --activation silu --seed 1 -o "$m"
  fi
  models+=("$m")
done

speed=()
if [ "${CROSSVAL_SKIP_SPEED:-0}" != 1 ]; then
  m="$out/2b4t-tq2_0.gguf"
  if [ ! -f "$m" ]; then
    "$bitnet" synth --preset 2b4t --type tq2_0 --arch bitnet --activation silu --seed 1 -o "$m"
  fi
  speed=(--speed-model "$m")
fi

"$py" ci/crossval.py --bitnet "$bitnet" --models "${models[@]}" "${speed[@]}" \
  --threads "$threads" --report "$out/report.json"
