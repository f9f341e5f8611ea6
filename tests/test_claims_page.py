"""book/_ext/claims_page.py: the Claims page reads every finding from the chapters' stored outputs."""

from __future__ import annotations

import json
import re
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
    assert lines[-1] == "| {doc}`/notebooks/99_test` | 2 | 1 |"


def test_a_tests_line_splits_into_the_tables_columns() -> None:
    assert claims_page.stat_cells("+0.317 [95% CI +0.304, +0.331], n = 8/8, p = 3.3e-16: resolved") == [
        "+0.317", "+0.304 to +0.331", "8/8", "3.3e-16", "resolved"]
    assert claims_page.stat_cells("ratio 0.975 [95% CI 0.951, 1], n = 8, p = 0.0012: ratio within ×/÷ 1.25: "
                                  "resolved") == ["ratio 0.975", "0.951 to 1", "8", "0.0012",
                                                  "ratio within ×/÷ 1.25: resolved"]
    assert claims_page.stat_cells("something else")[0] == "something else"


def _closing_counts(path: Path) -> tuple[int, int]:
    """The chapter's own count, from the last line its closing cell printed: (findings, checks)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(o.get("text", "")) for o in cells[-1].get("outputs", []))
    match = re.search(r"all \d+ claims hold \((\d+) findings?, (\d+) checks?\)", text)
    assert match, (path.name, text[-200:])
    return int(match[1]), int(match[2])


#: The chapters that train models: each states findings; the others make checks only.
TRAINING = {"03", "04", "05", "07", "08", "09", "10", "11"}


def test_every_chapter_is_classified_and_every_finding_carries_its_test() -> None:
    """The page's counts are the chapters' own; every finding printed its test, with at least five
    seeds per arm; the chapters that train state findings."""
    for path in CHAPTERS:
        claims = claims_page.chapter_claims(path)
        assert claims and all(c.holds for c in claims), path.name
        findings = [c for c in claims if c.finding]
        assert _closing_counts(path) == (len(findings), len(claims) - len(findings)), path.name
        assert bool(findings) == (path.stem[:2] in TRAINING), path.name
        for c in findings:
            for line in c.stats:
                arms = re.search(r"n = ([\d/]+)(, p = |: within|: ratio within)", line)
                assert "95% CI" in line and arms, (path.name, c.statement, line)
                assert min(int(k) for k in arms[1].split("/")) >= 5, (path.name, c.statement, line)
