#!/usr/bin/env bash
# Run one chapter at SCALE=full with papermill, on a machine with a GPU, and keep the result.
#
#   scripts/run_full_scale.sh NOTEBOOK [RESULTS_DIR]
#   scripts/run_full_scale.sh notebooks/05_rotation_symmetry.ipynb          # -> results/
#
# Writes RESULTS_DIR/<chapter>.full.ipynb, the executed notebook with every output, and
# RESULTS_DIR/<chapter>.full.log, the cells' outputs as they ran. The kernel runs inside
# RESULTS_DIR, so training checkpoints (checkpoints/) land there too: run the same command again
# after an interruption and training resumes from the last checkpoint instead of starting over.
# The chapter's last cell checks its claims, including the published numbers at full scale; if
# one fails, the notebook raises and this script exits with a non-zero status (the executed
# notebook is still written, with the failing claim marked).
#
# The committed notebooks stay at SCALE = "ci": never copy a full-scale run over them.
#
# Environment:
#   PYTHON            the interpreter with symlib and papermill (default: .venv/bin/python if it
#                     exists, else python3)
#   SYMLIB_PROGRESS   1 to show progress bars in the log (default 0: clean outputs)
#
# Chapter 05 at full scale trains 4 models for 300,000 steps each (the EGNN paper's 10,000 epochs)
# plus a data-efficiency sweep of 3 models on 100, 300 and 1,000 systems: about 1.6 million small
# optimizer steps, a matter of hours on one GPU (plan for an afternoon; the checkpoints make it
# safe to interrupt).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || ! -f "$1" ]]; then
    echo "usage: $0 NOTEBOOK.ipynb [RESULTS_DIR]   (e.g. notebooks/05_rotation_symmetry.ipynb)" >&2
    exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
notebook="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
results="${2:-$root/results}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$root/.venv/bin/python" ]]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
chapter="$(basename "$notebook" .ipynb)"
output="$results/$chapter.full.ipynb"

"$PYTHON" -c "import papermill, symlib" || {
    echo "$PYTHON cannot import papermill and symlib: run 'make env' or pip install -e '.[dev]'" >&2
    exit 1
}
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" ||
    echo "warning: no CUDA device visible; a full-scale run on the CPU takes days" >&2

echo "running $chapter at SCALE=full -> $output"
start=$(date +%s)
set +e  # keep going when a claim fails: report the status, keep the executed notebook
SYMLIB_PROGRESS="${SYMLIB_PROGRESS:-0}" "$PYTHON" -m papermill "$notebook" "$output" \
    -p SCALE full --cwd "$results" --log-output --request-save-on-cell-execute \
    2>&1 | tee "$results/$chapter.full.log"
status=${PIPESTATUS[0]}
set -e
echo "finished with status $status after $(( ($(date +%s) - start) / 60 )) min: $output"
exit "$status"
