#!/usr/bin/env bash
# The benchmarks on a CUDA GPU, in one command (a Colab GPU runtime, a workstation):
#
#     bash benchmarks/gpu.sh                    # gconv, egnn, nbody, train on cuda; tables on stdout
#     bash benchmarks/gpu.sh --readme           # also write them into benchmarks/README.md
#     PYTHON=/path/to/python bash benchmarks/gpu.sh
#
# Uses the environment of $PYTHON (default: python3, e.g. Colab's, with its CUDA torch); installs
# symlib into it if missing, and the reference libraries into the layer benchmarks/.venv on top of it
# (benchmarks/setup_env.sh explains why). The book benchmark is CPU-only: run it with
# `python -m benchmarks --only book`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-python3}
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
"$PYTHON" -c "import symlib" 2>/dev/null || "$PYTHON" -m pip install -q -e .
if ! command -v gfortran >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq gfortran >/dev/null || true      # escnn's py3nj is built from source
fi
[ -x benchmarks/.venv/bin/python ] || bash benchmarks/setup_env.sh
benchmarks/.venv/bin/python -m benchmarks --device cuda --only gconv,egnn,nbody,train "$@"
