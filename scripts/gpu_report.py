"""Assemble the report of ``scripts/gpu_check.sh`` from its working directory: one JSON file.

    python scripts/gpu_report.py _build/gpu_check results/gpu_check.json

Reads ``STAGE.status`` (exit code, wall seconds, limit), ``STAGE.log`` and the JUnit XML files that
pytest wrote, the claims and glued values each chapter recorded (``records/*.jsonl``, see
:func:`symlib.claims.record`) and the benchmark output; adds the hardware and software versions and,
for every glued value, the value stored in the committed notebook (the CPU run the book shows).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"(#x1B|\x1b)\[[0-9;]*m")     # terminal colours in tracebacks (escaped in JUnit XML)
PACKAGES = ("torch", "numpy", "torch_geometric", "matplotlib", "scikit-learn", "mnist1d", "nbval",
            "pytest", "pytest-xdist", "hypothesis", "ipykernel", "egnn-pytorch", "escnn", "triton")


def machine() -> dict:
    import torch

    info: dict = {"python": platform.python_version(), "cpu_cores": os.cpu_count(), "cpu": platform.machine()}
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info |= {"gpu": p.name, "gpu_memory_gib": round(p.total_memory / 2**30, 1),
                 "compute_capability": f"{p.major}.{p.minor}", "gpu_count": torch.cuda.device_count(),
                 "cuda_runtime": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                 "bf16_supported": torch.cuda.is_bf16_supported()}
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        ok = out.returncode == 0 and out.stdout.strip()
        info["driver"] = out.stdout.strip().splitlines()[0] if ok else None
    except (OSError, subprocess.SubprocessError):
        info["driver"] = None
    return info


def versions() -> dict:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def junit(path: Path) -> dict:
    """Counts, per-file wall time and failures from a JUnit XML file of pytest."""
    if not path.exists():
        return {"found": False}
    root = ET.parse(path).getroot()
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    files: dict[str, dict] = {}
    failures = []
    for case in root.iter("testcase"):
        where = case.get("file") or case.get("classname", "")
        name = f"{case.get('classname')}::{case.get('name')}"
        entry = files.setdefault(where, {"seconds": 0.0, "passed": 0, "failed": 0, "skipped": 0})
        entry["seconds"] = round(entry["seconds"] + float(case.get("time") or 0), 2)
        outcome = "passed"
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                outcome = "failed"
                counts["errors" if tag == "error" else "failed"] += 1
                text = ANSI.sub("", (node.get("message") or "") + "\n" + (node.text or ""))
                failures.append({"test": name, "kind": tag, "message": text.strip()[-3000:]})
        if outcome == "passed" and case.find("skipped") is not None:
            outcome = "skipped"
        if outcome != "failed":
            counts[outcome] += 1
        entry[outcome] += 1
    return {"found": True, **counts, "files": files, "failures": failures}


def stored_glue() -> dict[str, dict[str, str]]:
    """Glued values stored in the committed notebooks: ``{notebook stem: {name: text}}``."""
    import nbformat

    stored: dict[str, dict[str, str]] = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                meta = out.get("metadata", {}).get("scrapbook")
                if meta:
                    text = out.get("data", {}).get(meta.get("mime_prefix", "") + "text/plain")
                    stored.setdefault(path.stem, {})[meta["name"]] = text
    return stored


def chapters(records: Path, cells: dict[str, dict]) -> dict:
    """Every chapter's recorded claims and glued values, next to the stored CPU values. ``cells``:
    the notebooks stage's per-file JUnit counts; a chapter's claims hold only if all its cells ran."""
    stored = stored_glue()
    by_number = {stem.split("_", 1)[0]: stem for stem in stored} | {
        p.stem.split("_", 1)[0]: p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    result = {}
    for path in sorted(records.glob("*.jsonl")):
        lines = [json.loads(s) for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]
        claims = [r for r in lines if r["kind"] == "claim"]
        chapter = claims[0]["chapter"] if claims else f"(no claims, {path.name})"
        stem = by_number.get(chapter.split(" ", 1)[0], chapter)
        glue = {r["name"]: r["value"] for r in lines if r["kind"] == "glue"}
        ran = next((v for k, v in cells.items() if stem in k), None)
        result[stem] = {
            "chapter": chapter,
            "cells": ran,
            "claims": [{"statement": r["statement"], "holds": r["holds"]} for r in claims],
            "claims_hold": bool(claims) and all(r["holds"] for r in claims)
                           and ran is not None and ran["failed"] == 0,
            "glue": {name: {"measured": value, "cpu_stored": stored.get(stem, {}).get(name)}
                     for name, value in glue.items()},
        }
    return dict(sorted(result.items()))


def benchmark_summary(log: Path) -> dict:
    if not log.exists():
        return {"found": False}
    text = log.read_text(encoding="utf-8", errors="replace")
    targets = [line.strip() for line in text.splitlines() if re.match(r"\s+(gconv|egnn|nbody|book)\s", line)]
    return {"found": True, "targets": targets, "output": text[-60_000:]}


def main(work: str, report: str) -> int:
    work_dir, out = Path(work), Path(report)
    stages = {}
    for status in sorted(work_dir.glob("*.status")):
        rc, seconds, limit = (int(x) for x in status.read_text().split())
        name = status.stem
        log = work_dir / f"{name}.log"
        text = log.read_text(errors="replace") if log.exists() else None
        stage = {"exit_code": rc, "seconds": seconds, "limit_seconds": limit,
                 "timed_out": rc in (124, 137), "passed": rc == 0,
                 "command": text.splitlines()[0].removeprefix(f"gpu_check: {name}: ") if text else None,
                 "log_tail": text[-4000:] if text else None}
        if (work_dir / f"{name}.commit").exists():     # the commit the stage ran (runs can be merged)
            stage["commit"] = (work_dir / f"{name}.commit").read_text().strip()
        if (work_dir / f"{name}.xml").exists():
            stage["junit"] = junit(work_dir / f"{name}.xml")
        stages[name] = stage
    total = work_dir / "total_seconds"
    data = {
        "what": "scripts/gpu_check.sh: unit tests, every chapter at ci scale (pytest --nbval-lax) and the "
                "benchmarks on one CUDA GPU, with the book's defaults (deterministic algorithms, TF32 off, "
                "bf16 autocast in fit)",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": os.environ.get("GIT_COMMIT", "unknown"),
        "total_seconds": int(total.read_text()) if total.exists() else None,
        "machine": machine(),
        "versions": versions(),
        "all_passed": bool(stages) and all(s["passed"] for s in stages.values()),
        "stages": stages,
        "chapters": chapters(work_dir / "records",
                             stages.get("notebooks", {}).get("junit", {}).get("files", {})),
        "benchmarks": benchmark_summary(work_dir / "benchmarks.log"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    summary = ", ".join(f"{k}: {'pass' if s['passed'] else 'FAIL'} ({s['seconds']} s)"
                        for k, s in stages.items())
    print(f"gpu_check: {summary}; report {out}")
    return 0 if data["all_passed"] else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: gpu_report.py WORK_DIR REPORT.json")
    sys.exit(main(*sys.argv[1:]))
