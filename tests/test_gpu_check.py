"""scripts/gpu_check.sh and scripts/gpu_report.py, on a machine without a GPU: the check refuses
clearly, the report is assembled from a stage's files, and the committed report says what the README
says of it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="notebooks.00_the_calculation.ipynb" name="Cell 0" time="1.5"/>
<testcase classname="notebooks.00_the_calculation.ipynb" name="Cell 1" time="0.5">
<failure message="boom">#x1B[31mRuntimeError#x1B[39m: device mismatch</failure></testcase>
</testsuite></testsuites>"""


def test_refuses_without_a_gpu() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable}
    env.pop("GPU_CHECK_ALLOW_CPU", None)
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "no CUDA device visible to torch" in done.stderr and "Nothing was run" in done.stderr


def test_report_from_a_stage(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "records").mkdir(parents=True)
    (work / "notebooks.status").write_text("1 12 300\n")
    (work / "notebooks.commit").write_text("abc123\n")
    (work / "notebooks.log").write_text("gpu_check: notebooks: pytest --nbval-lax notebooks\n...\n")
    (work / "notebooks.xml").write_text(JUNIT)
    (work / "records" / "1.jsonl").write_text(
        json.dumps({"kind": "glue", "name": "ratio", "value": 5575.1}) + "\n"
        + json.dumps({"kind": "claim", "chapter": "00 · the calculation", "statement": "s", "holds": True})
        + "\n")
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_report.py"), str(work), str(report)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr          # a stage failed
    data = json.loads(report.read_text())
    stage = data["stages"]["notebooks"]
    assert (stage["exit_code"], stage["commit"]) == (1, "abc123")
    assert stage["command"] == "pytest --nbval-lax notebooks"
    assert (stage["junit"]["passed"], stage["junit"]["failed"]) == (1, 1)
    assert stage["junit"]["failures"][0]["message"].endswith("RuntimeError: device mismatch")  # no colours
    chapter = data["chapters"]["00_the_calculation"]
    assert chapter["claims"] == [{"statement": "s", "holds": True}]
    assert not chapter["claims_hold"]                   # a claim held, but a cell of the chapter failed
    assert chapter["glue"]["ratio"]["measured"] == 5575.1
    assert chapter["glue"]["ratio"]["cpu_stored"] is not None   # read from the committed notebook
    assert {"torch", "numpy"} <= set(data["versions"]) and not data["all_passed"]


def test_committed_report_matches_the_readme() -> None:
    data = json.loads((ROOT / "results" / "gpu_check.json").read_text())
    assert data["all_passed"] and data["machine"]["gpu"] and data["commit"] != "unknown"
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(data["chapters"]) == notebooks
    assert all(c["claims_hold"] for c in data["chapters"].values())
    claims = sum(len(c["claims"]) for c in data["chapters"].values())
    tests = data["stages"]["tests"]["junit"]["passed"]
    readme = (ROOT / "README.md").read_text()
    stated = re.search(r"is from commit `([0-9a-f]{7,})`[^:]*: there, ([\d,]+) unit tests and all (\d+) "
                       r"claims the (\d+)\s+chapters then made passed on CUDA", readme)
    assert stated, "README no longer states the GPU check's result and the commit it is from"
    said = (int(stated[2].replace(",", "")), int(stated[3]), int(stated[4]))
    assert data["commit"].startswith(stated[1]) and said == (tests, claims, len(notebooks))


def test_the_nan_reproducer_refuses_without_a_gpu_and_runs_as_a_smoke_test() -> None:
    """scripts/bf16_compile_nan.py (issue 33): exit 2 without CUDA; with --allow-cpu one step of a
    variant, eager and through Dynamo, as JSON."""
    script = [sys.executable, str(ROOT / "scripts" / "bf16_compile_nan.py")]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    refused = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "no CUDA device" in refused.stderr
    done = subprocess.run([*script, "--allow-cpu", "--backends", "eager", "--variants", "no batch norm",
                           "--batch", "4"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["variants"]["no batch norm"]["runs"]
    assert set(runs) == {"eager fp32", "eager bf16", "compile eager, bf16"}
    assert all(run["finite"] and not run["nonfinite_gradients"] for run in runs.values())


def test_the_full_scale_timer_refuses_without_a_gpu_and_records_a_chapter(tmp_path: Path) -> None:
    """scripts/gpu_full.py (issue 33): exit 2 without CUDA; with --allow-cpu, chapter 00 at ci scale
    is recorded with its status, wall time, cells and provenance."""
    script = [sys.executable, str(ROOT / "scripts" / "gpu_full.py")]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable}
    refused = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "Nothing was run" in refused.stderr
    out = tmp_path / "gpu_full.json"
    done = subprocess.run([*script, "--allow-cpu", "--scale", "ci", "--chapters", "00", "--out", str(out),
                           "--work", str(tmp_path / "work"), "--budget-min", "5"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    row = report["chapters"]["00_the_calculation"]
    assert row["status"] == "claims held" and row["cells_run"] == row["cells"] > 0 and row["wall_s"] > 0
    assert report["device"] == "cpu" and re.fullmatch(r"[0-9a-f]{40}", report["commit"])
