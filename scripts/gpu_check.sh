#!/usr/bin/env bash
# The CUDA path, exercised in one command: what a Colab reader's "Run all" does, on one GPU, in ≤ 10 min.
#
#     bash scripts/gpu_check.sh                 # report: results/gpu_check.json; logs: _build/gpu_check/
#     SYMLIB_WHEELS=DIR bash scripts/gpu_check.sh    # offline: first install the wheels in DIR
#
# 1. tests:     the unit tests (tests/, the CUDA-only ones included; tests/test_devices.py runs every
#               model family on CUDA next to the CPU). The browser test needs a built book: CPU CI runs it.
# 2. notebooks: every chapter at `ci` scale on CUDA with the book's defaults — symlib.setup turns on
#               deterministic algorithms and turns off TF32, fit trains under bf16 autocast wherever a
#               chapter does not ask for float32 — through `pytest --nbval-lax`, so every cell, and with
#               it every claims cell, must run without error. Outputs are not compared with the stored
#               CPU outputs (other kernels, bf16); the claims carry the checks. Every claim and glued
#               value is recorded (SYMLIB_RECORD) for the report.
# 3. benchmarks: benchmarks/gpu.sh (group convolution vs its Conv2d limit in bf16, EGNN vs egnn-pytorch,
#               the N-body simulator, fit with bf16 autocast / torch.compile), two rounds each.
# Then scripts/gpu_report.py writes one JSON report: hardware and software versions, each stage's
# result, every chapter's claims and glued values next to the stored CPU values, the benchmark tables.
#
# Nothing is fetched from the network. Missing packages (nbval, ipykernel, mnist1d, egnn-pytorch, …)
# can come as wheels: SYMLIB_WHEELS=DIR installs every wheel in DIR into a temporary directory first.
# Without a CUDA device it refuses (exit 2). Settings (environment): PYTHON (default python3), JOBS
# (notebooks run side by side, default min(12, cores)), TIMEOUT_TESTS / TIMEOUT_NOTEBOOKS /
# TIMEOUT_BENCH (seconds per stage: 240 / 300 / 200), GPU_CHECK_DIR (logs), GPU_CHECK_REPORT (report
# path), GPU_CHECK_STAGES (default "tests notebooks benchmarks"), GPU_CHECK_TESTS / GPU_CHECK_NOTEBOOKS
# (what pytest runs: default tests / notebooks, e.g. one chapter to rerun), GIT_COMMIT (when .git is
# absent), GPU_CHECK_ALLOW_CPU=1 (smoke-test the script itself on a machine without a GPU).
# The exit code is 0 when every stage passed, 1 otherwise; the report is written either way.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WORK=${GPU_CHECK_DIR:-_build/gpu_check}
REPORT=${GPU_CHECK_REPORT:-results/gpu_check.json}
STAGES=${GPU_CHECK_STAGES:-tests notebooks benchmarks}
read -r -a TESTS <<< "${GPU_CHECK_TESTS:-tests}"
read -r -a NOTEBOOKS <<< "${GPU_CHECK_NOTEBOOKS:-notebooks}"

if [ -n "${SYMLIB_WHEELS:-}" ]; then
    site=$(mktemp -d /tmp/symlib_site.XXXX)
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" \
        "$SYMLIB_WHEELS"/*.whl \
        || { echo "gpu_check: installing the wheels in $SYMLIB_WHEELS failed" >&2; exit 2; }
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ -z "${GPU_CHECK_ALLOW_CPU:-}" ] \
        && ! "$PYTHON" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
    echo "gpu_check: no CUDA device visible to torch ($PYTHON): this check needs a GPU (on Colab:" \
         "Runtime > Change runtime type > GPU). Nothing was run." >&2
    exit 2
fi
# this checkout's symlib, whatever else is installed (kernels and torchrun workers inherit the path)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
missing=$("$PYTHON" -c "
import importlib.util as u
needed = ['nbval', 'ipykernel', 'mnist1d', 'torch_geometric', 'hypothesis', 'yaml', 'ipywidgets']
print(' '.join(m for m in needed if u.find_spec(m) is None))")
if [ -n "$missing" ]; then
    echo "gpu_check: missing Python packages: $missing (pip install -e '.[test]', or SYMLIB_WHEELS=DIR)" >&2
    exit 2
fi

rm -rf "$WORK" && mkdir -p "$WORK/records"
cores=$(nproc)
JOBS=${JOBS:-$(( cores < 12 ? cores : 12 ))}
xdist=$("$PYTHON" -c "import xdist" 2>/dev/null && echo yes || echo no)
export SYMLIB_PROGRESS=0 PYTHONUNBUFFERED=1
export GIT_COMMIT=${GIT_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
start=$(date +%s)

stage() {   # stage NAME TIMEOUT COMMAND...: run, log to $WORK/NAME.log, record exit code and wall time
    local name=$1 limit=$2; shift 2
    local t0; t0=$(date +%s)
    echo "gpu_check: $name: $*" | tee "$WORK/$name.log"
    timeout --kill-after=10 "$limit" "$@" >>"$WORK/$name.log" 2>&1
    local rc=$?
    echo "$rc $(( $(date +%s) - t0 )) $limit" > "$WORK/$name.status"
    echo "$GIT_COMMIT" > "$WORK/$name.commit"
    echo "gpu_check: $name: exit $rc after $(( $(date +%s) - t0 )) s"
}

tests() {
    local par=()
    [ "$xdist" = yes ] && par=(-n 4)
    stage tests "${TIMEOUT_TESTS:-240}" "$PYTHON" -m pytest "${TESTS[@]}" -p no:cacheprovider -q -rfE \
        --ignore=tests/test_browser.py "${par[@]}" --junitxml="$WORK/tests.xml"
}

notebooks() {
    local par=()
    [ "$xdist" = yes ] && par=(-n "$JOBS" --dist loadfile)
    # one CPU thread per chapter when they run side by side (torch's default would oversubscribe)
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( JOBS > 1 ? (cores / JOBS > 0 ? cores / JOBS : 1) : cores ))} \
    SYMLIB_RECORD="$PWD/$WORK/records" \
        stage notebooks "${TIMEOUT_NOTEBOOKS:-300}" "$PYTHON" -m pytest --nbval-lax "${NOTEBOOKS[@]}" \
        -p no:cacheprovider -q -rfE "${par[@]}" --junitxml="$WORK/notebooks.xml"
}

benchmarks() {
    PYTHON=$PYTHON BENCH_NO_SETUP=1 stage benchmarks "${TIMEOUT_BENCH:-200}" bash benchmarks/gpu.sh --rounds 2
}

# tests and notebooks side by side (CPU-light, GPU-light), then the benchmarks alone on a quiet GPU
pids=()
for s in tests notebooks; do
    case " $STAGES " in *" $s "*) $s & pids+=($!) ;; esac
done
wait "${pids[@]}" 2>/dev/null
case " $STAGES " in *" benchmarks "*) benchmarks ;; esac

echo "$(( $(date +%s) - start ))" > "$WORK/total_seconds"
"$PYTHON" scripts/gpu_report.py "$WORK" "$REPORT"
