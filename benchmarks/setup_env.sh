#!/usr/bin/env bash
# Make benchmarks/.venv: the project's environment plus the reference libraries (the `bench` extra).
#
#     bash benchmarks/setup_env.sh            # base: .venv/bin/python if it exists, else python3
#     PYTHON=/path/to/python bash benchmarks/setup_env.sh
#
# Why a second environment: escnn needs lie-learn, whose wheels are built against numpy 1 and pin
# numpy<2. Installing them into the book's environment would downgrade its numpy (and the book's
# stored outputs were made with numpy 2). benchmarks/.venv is a thin layer over the base environment
# instead: its own site-packages (numpy 1.26, escnn, egnn-pytorch) come first on sys.path, the base
# environment's (torch, symlib, ...) after them, so torch is not installed twice and the base
# environment is never modified. (.venv/ is git-ignored at any depth.)
#
# escnn builds py3nj from source, which needs a Fortran compiler (apt-get install -y gfortran).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
VENV=benchmarks/.venv

command -v gfortran >/dev/null \
    || echo "gfortran not found: escnn's py3nj needs it (apt-get install -y gfortran)" >&2
"$BASE" -m venv --without-pip "$VENV"
site=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
# the book benchmark runs the notebooks with the base interpreter, never with this layer's numpy
"$BASE" -c "import sys; print(sys.executable)" > "$VENV/base_python"
# The base's site-packages, processed after the layer's own; addsitedir also runs their .pth files
# (an editable symlib, for one).
"$BASE" - "$site/_base_env.pth" <<'EOF'
import os, site, sys, sysconfig
dirs = dict.fromkeys(os.path.realpath(d) for d in [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
                     if os.path.isdir(d))
with open(sys.argv[1], "w") as f:
    f.write("import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs) + "\n")
EOF
# The base environment's pip, run from the layer, installs into the layer: what the base has (torch,
# scipy, ...) counts as installed, and pip never uninstalls outside the environment it runs in, so
# numpy<2 lands in the layer and shadows the base's numpy there.
"$VENV/bin/python" -m pip install -q "numpy<2" -e ".[bench]" \
    || { echo "escnn failed to install: its rows will say 'not installed'" >&2
         "$VENV/bin/python" -m pip install -q "numpy<2" -e . "egnn-pytorch>=0.2.8"; }
"$VENV/bin/python" -c "import numpy, torch; print('benchmarks/.venv: numpy', numpy.__version__, '| torch', torch.__version__)"
