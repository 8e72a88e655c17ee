# Sourced by the CI scripts: points tests at the Python peers and at libnvrtc
# from the nvidia-cuda-nvrtc-cu12 wheel (no CUDA toolkit or GPU needed).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$root/.venv/bin/python" ]; then
  export BITNET_PYTHON="$root/.venv/bin/python"
  nvrtc_dir=$("$BITNET_PYTHON" -c 'import nvidia.cuda_nvrtc, os; print(os.path.join(list(nvidia.cuda_nvrtc.__path__)[0], "lib"))' 2>/dev/null || true)
  if [ -n "$nvrtc_dir" ] && [ -d "$nvrtc_dir" ]; then
    export BITNET_NVRTC_DIR="$nvrtc_dir"
    export LD_LIBRARY_PATH="$nvrtc_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
