"""Sphinx extension: the ``claims`` directive lists every finding of the book, read from the chapters'
stored outputs at build time (nothing is re-executed, nothing typed by hand).

A chapter prints each claim where it checks it (:class:`symlib.claims.Claims`): ``✓  statement`` (or
``✗ FALSE  statement``), and under a *finding* one ``⟨stat⟩`` line per declared test (effect, 95%
interval, number of seeds, p, verdict). A claim line without ``⟨stat⟩`` lines is a *check*. The
chapter's last cell reprints its claims, so it is skipped here. ``tests/test_claims_page.py`` checks
the parsing on the stored chapters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
_CLAIM = re.compile(r"^(✓|✗ FALSE)  (.*)$")
_STAT = re.compile(r"^\s+⟨stat⟩ (.*)$")
#: A test's line as ``symlib.stats.Test`` prints it: effect, interval, seeds per arm, p, verdict.
_TEST = re.compile(r"^(?P<effect>.+?) \[95% CI (?P<low>[^,]+), (?P<high>[^\]]+)\], n = (?P<n>[\d/]+), "
                   r"p = (?P<p>[^:]+): (?P<verdict>.+)$")


@dataclass
class Claim:
    """One claim as a chapter printed it: statement, verdict, and its tests' lines (findings only)."""

    statement: str
    holds: bool
    stats: list[str] = field(default_factory=list)

    @property
    def finding(self) -> bool:
        return bool(self.stats)


def chapter_claims(path: Path) -> list[Claim]:
    """The claims of one stored notebook, in order, without the closing cell's reprint."""
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    claims: list[Claim] = []
    for cell in cells[:-1]:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream":
                continue
            for line in "".join(output.get("text", "")).splitlines():
                if m := _CLAIM.match(line):
                    claims.append(Claim(m.group(2), m.group(1) == "✓"))
                elif (m := _STAT.match(line)) and claims:
                    claims[-1].stats.append(m.group(1))
    return claims


def stat_cells(line: str) -> list[str]:
    """One test's line split into the table's cells: effect, 95% CI, seeds per arm, p, verdict (the
    whole line in the first cell if it does not parse)."""
    m = _TEST.match(line)
    if not m:
        return [line, "", "", "", ""]
    return [m["effect"], f"{m['low']} to {m['high']}", m["n"], m["p"], m["verdict"]]


def page_lines(notebooks: list[Path]) -> list[str]:
    """The page's MyST: the findings table (one row per test; a finding decided by several tests has
    one row for each), then the count of findings and checks per chapter."""
    findings, counts = [], []
    for path in notebooks:
        claims = chapter_claims(path)
        link = f"{{doc}}`{path.stem[:2]} </notebooks/{path.stem}>`"
        found = [c for c in claims if c.finding]
        counts.append(f"| {{doc}}`/notebooks/{path.stem}` | {len(found)} | {len(claims) - len(found)} |")
        for c in found:
            for k, line in enumerate(c.stats):
                part = f" ({k + 1} of {len(c.stats)})" if len(c.stats) > 1 else ""
                cells = [cell.replace("|", "\\|") for cell in stat_cells(line)]
                statement = c.statement.replace("|", "\\|")            # e.g. |w_x| in a statement
                findings.append(f"| {link} | {'✓' if c.holds else '✗'} {statement}{part} | "
                                + " | ".join(cells) + " |")
    return (["| chapter | finding | effect | 95% CI | seeds per arm | p | verdict |",
             "|---|---|---:|---:|---:|---:|---|", *findings, "",
             "| chapter | findings | checks |", "|---|---:|---:|", *counts])


class ClaimsPage(SphinxDirective):
    """``{claims}``: every finding of every chapter, and the count of claims of each kind."""

    def run(self) -> list[nodes.Node]:
        notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        for path in notebooks:
            self.env.note_dependency(str(path))
        lines = page_lines(notebooks)
        split = lines.index("")
        # the findings table sorts by any column (book/_static/sortable.js); the counts stay in order
        parts = [(nodes.container(classes=["claims-findings"]), lines[:split]),
                 (nodes.container(), lines[split + 1:])]
        for node, part in parts:
            self.state.nested_parse(StringList(part, source=str(NOTEBOOKS)), self.content_offset, node)
        return [node for node, _ in parts]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("claims", ClaimsPage)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
