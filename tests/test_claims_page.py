"""book/_ext/claims_page.py: the Claims page reads every finding from the chapters' stored outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import claims_page  # noqa: E402  (a Sphinx extension, not a package)

CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _notebook(tmp_path: Path, *outputs: str) -> Path:
    cells = [{"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}
             for text in outputs]
    path = tmp_path / "99_test.ipynb"
    path.write_text(json.dumps({"cells": cells}), encoding="utf-8")
    return path


def test_findings_checks_and_the_closing_reprint(tmp_path: Path) -> None:
    stat = "   ⟨stat⟩ +0.25 [95% CI +0.13, +0.37], n = 8/8, p = 0.003: resolved\n"
    false = "   ⟨stat⟩ ratio 1.1 [95% CI 0.9, 1.3], n = 8/8, p = 0.4: not resolved\n"
    path = _notebook(tmp_path, "✓  a check\n✓  a finding\n" + stat, "✗ FALSE  a false finding\n" + false,
                     "Claims of chapter 99\n✓  a check\n✓  a finding\n✗ FALSE  a false finding\n")
    claims = claims_page.chapter_claims(path)
    assert [(c.statement, c.holds, c.finding) for c in claims] == [
        ("a check", True, False), ("a finding", True, True), ("a false finding", False, True)]
    lines = claims_page.page_lines([path])
    assert any("✗ a false finding" in line and "not resolved" in line for line in lines)
    assert lines[-1] == "| {doc}`/notebooks/99_test` | 2 | 1 | |"


def test_every_chapter_is_read_and_chapter_11_is_classified() -> None:
    counts = {path.stem[:2]: claims_page.chapter_claims(path) for path in CHAPTERS}
    assert len(counts) == 12 and all(counts.values())
    eleven = counts["11"]
    assert all(c.holds for c in eleven)
    findings = [c for c in eleven if c.finding]
    assert len(findings) >= 10 and len(eleven) - len(findings) >= 5
    assert all("95% CI" in s and "n = 8" in s for c in findings for s in c.stats)
