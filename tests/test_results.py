"""results/: the published experiments reproduced by scripts/reproduce.py, and the page that shows them.

Every committed reproduction must be at the paper's settings, with at least three seeds, numbers that
agree with their own per-seed values, and complete provenance; the Reproductions page
(book/_ext/reproductions.py) must show exactly those numbers.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from pathlib import Path

import pytest

from symlib.stats import MIN_SEEDS, estimate

ROOT = Path(__file__).resolve().parents[1]
FILES = [p for p in sorted((ROOT / "results").glob("*.json")) if "rows" in json.loads(p.read_text())]
PROVENANCE = {"commit", "dirty", "date", "wall_seconds", "jobs", "threads_per_run", "device", "cpu", "cores",
              "python", "torch", "numpy"}


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check(result: dict) -> None:
    assert set(result["provenance"]) >= PROVENANCE, f"missing: {PROVENANCE - set(result['provenance'])}"
    assert re.fullmatch(r"[0-9a-f]{40}", result["provenance"]["commit"])
    assert result["rows"], "no rows"
    for label, row in result["rows"].items():
        e = estimate(row["per_seed"].values())
        assert math.isclose(row["mean"], e.mean, abs_tol=1e-12), label
        assert math.isclose(row["se"], e.se, abs_tol=1e-12), label
        assert 0 < row["paper"] <= 1 and 0 <= row["mean"] <= 1, label


def test_there_is_a_reproduction() -> None:
    assert FILES, "results/ holds no reproduction: run `make reproduce`"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_reproduction_is_complete_at_the_papers_settings(path: Path) -> None:
    result = json.loads(path.read_text())
    assert result["settings"]["reproduction"] is True, "a shortened (smoke-test) run was committed"
    assert len(result["seeds"]) >= MIN_SEEDS
    assert not result["provenance"]["dirty"], "made from uncommitted symlib/scripts code"
    _check(result)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_the_page_shows_exactly_these_numbers(path: Path) -> None:
    page = "\n".join(_load(ROOT / "book" / "_ext" / "reproductions.py", "reproductions_ext")
                     .table_lines(json.loads(path.read_text())))
    for label, row in json.loads(path.read_text())["rows"].items():
        assert f"| {label} |" in page
        assert f"{row['paper']:.1%}" in page and f"{row['mean']:.1%} ± {row['se']:.1%}" in page


def test_a_smoke_run_writes_a_complete_file_marked_as_no_reproduction(tmp_path: Path) -> None:
    script = _load(ROOT / "scripts" / "reproduce.py", "reproduce_script")
    path = script.reproduce_mnist1d([0, 1, 2], jobs=1, steps=2, out=tmp_path, checkpoints=None)
    result = json.loads(path.read_text())
    assert result["settings"]["reproduction"] is False and result["settings"]["steps"] == 2
    assert set(result["rows"]) == {"MLP, real signals", "CNN, real signals", "MLP, shuffled signals",
                                   "CNN, shuffled signals"}
    _check(result)
