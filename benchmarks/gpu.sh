#!/usr/bin/env bash
# The benchmarks on a CUDA GPU, in one command (a Colab GPU runtime, a workstation):
#
#     bash benchmarks/gpu.sh                    # gconv in bf16, egnn, nbody, train on cuda; tables on stdout
#     bash benchmarks/gpu.sh --readme           # also write them into benchmarks/README.md
#     bash benchmarks/gpu.sh --rounds 2         # any option of `python -m benchmarks`
#     PYTHON=/path/to/python bash benchmarks/gpu.sh
#
# Uses the environment of $PYTHON (default: python3, e.g. Colab's, with its CUDA torch), with symlib
# from this checkout, and the reference libraries from the layer benchmarks/.venv on top of it
# (benchmarks/setup_env.sh explains why). Without a network that layer cannot be made: then the
# benchmarks run in $PYTHON's environment and a missing reference library gives a "not installed"
# row. The book benchmark is CPU-only: run it with `python -m benchmarks --only book`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-python3}
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"      # this checkout's symlib
BENCH=$PYTHON
if [ -x benchmarks/.venv/bin/python ]; then
    BENCH=benchmarks/.venv/bin/python
elif [ -z "${BENCH_NO_SETUP:-}" ]; then
    if ! command -v gfortran >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq gfortran >/dev/null || true      # escnn's py3nj is built from source
    fi
    if bash benchmarks/setup_env.sh; then
        BENCH=benchmarks/.venv/bin/python
    else
        echo "benchmarks/.venv could not be made (no network?): running in $PYTHON's environment" >&2
        rm -rf benchmarks/.venv
    fi
fi
# group convolutions in bf16, as fit trains on a GPU (the target: ≤ 1.1× the plain Conv2d)
"$BENCH" -m benchmarks --device cuda --only gconv --amp "$@"
"$BENCH" -m benchmarks --device cuda --only egnn,nbody,train "$@"
