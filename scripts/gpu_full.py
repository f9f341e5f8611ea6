"""Time each chapter at ``SCALE = "full"`` on one GPU, within a budget, and record it (issue 33).

    python scripts/gpu_full.py                          # every chapter, 20 minutes each at most
    python scripts/gpu_full.py --chapters 05 09 --budget-min 45
    python scripts/gpu_full.py --allow-cpu --scale ci --chapters 00   # smoke test of the harness

Each chapter runs with papermill (``-p SCALE full``) in its own working directory under ``--work``,
so its training checkpoints land there and a chapter stopped at its budget resumes from them when run
again. A chapter that outruns its budget is stopped cleanly (its process group is terminated) and
recorded with the cells it had finished; one whose claims fail is recorded as such (the chapter's last
cell raises). After every chapter ``results/gpu_full.json`` is rewritten: per chapter the status
(``"claims held"``, ``"claims failed"``, ``"stopped at the budget"``, ``"error"``), the wall time, the
cells run of the total, and the device, torch, commit and date, so that a session cut short keeps what
it measured. Each chapter's full-scale note then states the GPU time from this file.

Without CUDA it refuses (exit 2): a full scale on a CPU takes days. ``--allow-cpu`` runs anyway, to test
the harness (with ``--scale ci`` it takes seconds).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cells_run(executed: Path) -> tuple[int, int]:
    """``(code cells with an execution count, code cells)`` of a (partly) executed notebook."""
    if not executed.exists():
        return 0, 0
    cells = [c for c in json.loads(executed.read_text())["cells"] if c["cell_type"] == "code"]
    return sum(c.get("execution_count") is not None for c in cells), len(cells)


def run_chapter(notebook: Path, work: Path, scale: str, budget_s: float, python: str) -> dict:
    """Run one chapter with papermill in ``work``; stop it at ``budget_s``."""
    work.mkdir(parents=True, exist_ok=True)
    executed = work / f"{notebook.stem}.{scale}.ipynb"
    cmd = [python, "-m", "papermill", str(notebook), str(executed), "-p", "SCALE", scale, "--cwd", str(work),
           "--request-save-on-cell-execute", "--no-progress-bar"]
    env = {**os.environ, "SYMLIB_PROGRESS": "0"}
    start = time.perf_counter()
    with open(work / f"{notebook.stem}.{scale}.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            code = proc.wait(timeout=budget_s)
            status = "claims held" if code == 0 else "claims failed or error"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            status = "stopped at the budget"
    wall = time.perf_counter() - start
    done, total = cells_run(executed)
    if status == "claims failed or error":
        text = (work / f"{notebook.stem}.{scale}.log").read_text()
        status = "claims failed" if "ClaimFailed" in text else "error"     # symlib.claims.ClaimFailed
    return {"chapter": notebook.stem, "scale": scale, "status": status, "wall_s": round(wall, 1),
            "budget_s": budget_s, "cells_run": done, "cells": total}


def provenance(python: str) -> dict:
    probe = ("import json, platform, torch; print(json.dumps({'torch': torch.__version__, "
             "'device': torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu', "
             "'python': platform.python_version()}))")
    found = json.loads(subprocess.run([python, "-c", probe], capture_output=True, text=True,
                                      check=True).stdout)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    return {**found, "commit": commit.strip() or os.environ.get("GIT_COMMIT", "unknown"),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="+", default=None,
                        help="two-digit chapter numbers (default: all)")
    parser.add_argument("--budget-min", type=float, default=20.0, help="minutes per chapter at most")
    parser.add_argument("--scale", default="full", choices=["full", "ci"])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "gpu_full.json")
    parser.add_argument("--work", type=Path, default=ROOT / "_build" / "gpu_full")
    parser.add_argument("--allow-cpu", action="store_true", help="run without CUDA (a smoke test only)")
    args = parser.parse_args(argv)
    python = os.environ.get("PYTHON", sys.executable)
    info = provenance(python)
    if info["device"] == "cpu" and not args.allow_cpu:
        print("gpu_full: no CUDA device visible to torch; a full-scale chapter on a CPU takes hours to days "
              "(--allow-cpu to test the harness). Nothing was run.", file=sys.stderr)
        return 2
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        notebooks = [nb for nb in notebooks if nb.name[:2] in args.chapters]
        if len(notebooks) != len(args.chapters):
            parser.error(f"unknown chapters among {args.chapters}")
    result = {"what": f"each chapter at SCALE={args.scale} on one device, papermill, "
                      f"{args.budget_min:g} min budget each", **info, "chapters": {}}
    if args.out.exists():                       # keep the chapters of an earlier run on the same commit
        old = json.loads(args.out.read_text())
        if old.get("commit") == info["commit"] and old.get("device") == info["device"]:
            result["chapters"] = old.get("chapters", {})
    for notebook in notebooks:
        row = run_chapter(notebook, args.work, args.scale, args.budget_min * 60, python)
        result["chapters"][notebook.stem] = row
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"{row['chapter']}: {row['status']} after {row['wall_s'] / 60:.1f} min "
              f"({row['cells_run']} of {row['cells']} code cells)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
