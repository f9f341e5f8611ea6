"""The whole book at ``ci`` scale: one ``pytest --nbval`` run over the notebooks (exactly what
``make test`` runs for them), timed as a whole and per notebook.

Notebooks run one after another in one pytest process, each in its own kernel, as in CI. The
per-notebook times are the sums of nbval's per-cell times (JUnit XML); pytest's own start-up and
collection are only in the total, which is wall-clock time. The notebooks are only read: nbval
compares their stored outputs and never writes them. They run with the book's interpreter (see
:func:`book_python`), never with the numpy of ``benchmarks/.venv``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from benchmarks.common import Row

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "benchmarks" / ".venv"
BUDGET_S = 15 * 60          # issue 11: the whole book under pytest --nbval in at most 15 minutes on 2 cores


def book_python() -> str:
    """The interpreter of the book's environment: the notebooks' outputs were made with its numpy,
    not with the numpy<2 of benchmarks/.venv (see setup_env.sh), so never run them in that layer."""
    base = LAYER / "base_python"
    if Path(sys.prefix).resolve() == LAYER.resolve() and base.exists():
        return base.read_text().strip()
    return sys.executable


def run_pytest(notebooks: list[Path]) -> tuple[float, dict[str, list[float | int]], int, str]:
    """``(wall seconds, {notebook: [seconds, cells, failed]}, exit code, pytest's summary line)``."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [book_python(), "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider",
               "-o", "junit_family=xunit1", f"--junitxml={report}", *map(str, notebooks)]
        env = {**os.environ, "SYMLIB_PROGRESS": "0"}
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        per: dict[str, list[float | int]] = defaultdict(lambda: [0.0, 0, 0])
        if report.exists():
            for case in ET.parse(report).getroot().iter("testcase"):
                name = Path(case.get("file") or case.get("classname", "?")).name
                entry = per[name]
                entry[0] += float(case.get("time", 0))
                entry[1] += 1
                entry[2] += any(child.tag in ("failure", "error") for child in case)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return wall, dict(per), proc.returncode, lines[-1] if lines else proc.stderr[-300:]


def run(device, threads: int, rounds: int, quick: bool = False, pattern: str = "*.ipynb") -> list[Row]:
    if device.type != "cpu":
        return [Row("book", "all notebooks", "pytest --nbval", None, {}, "CPU only (the book's ci scale)")]
    notebooks = sorted((ROOT / "notebooks").glob(pattern))
    python = book_python()
    numpy = subprocess.run([python, "-c", "import numpy; print(numpy.__version__)"], capture_output=True,
                           text=True, check=False).stdout.strip()
    load = os.getloadavg()[0]
    wall, per, _, summary = run_pytest(notebooks)
    rows = [Row("book", nb.name, "pytest --nbval", per[nb.name][0] if nb.name in per else None, {},
                (f"{per[nb.name][1]} cells" + (f", {per[nb.name][2]} failed" if per[nb.name][2] else ""))
                if nb.name in per else "no result")
            for nb in notebooks]
    count = f"{len(notebooks)} notebook" + "s" * (len(notebooks) != 1)
    rows.append(Row("book", f"total ({count}, wall)", "pytest --nbval", wall,
                    {"of the 15-min budget": wall / BUDGET_S},
                    f"{summary}; {Path(python).parent.parent.name}/ with numpy {numpy}; "
                    f"load average {load:.1f} at start"))
    return rows
