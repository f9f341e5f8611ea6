"""Sphinx extension: the ``reproductions`` directive renders ``results/*.json`` as tables (MyST).

Each file written by ``scripts/reproduce.py`` becomes one table — the paper's number beside this
book's mean ± standard error over seeds — followed by its settings and provenance, so the page shows
exactly what the files hold and nothing typed by hand. Files without ``rows`` (such as
``gpu_check.json``) are skipped. ``tests/test_results.py`` checks the files and the rendering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

RESULTS = Path(__file__).resolve().parents[2] / "results"


def table_lines(result: dict[str, Any]) -> list[str]:
    """MyST Markdown for one results file: a caption, a table, then settings and provenance."""
    lines = [f"*{result['paper']}: {result['metric']}.*", "",
             "| row | paper | this book (mean ± SE) | seeds | difference, in SEs |",
             "|:--|--:|--:|--:|--:|"]
    verdicts = []
    for label, row in result["rows"].items():
        diff = row["mean"] - row["paper"]
        z = diff / row["se"] if row["se"] > 0 else float("inf")
        lines.append(f"| {label} | {row['paper']:.1%} | {row['mean']:.1%} ± {row['se']:.1%} | "
                     f"{len(row['per_seed'])} | {z:+.1f} |")
        side = "below" if diff < 0 else "above"
        verdicts.append(f"- {label}: " + ("agrees with the paper: within two of our standard errors."
                                          if abs(z) <= 2 else
                                          f"{100 * abs(diff):.1f} points {side} the paper, {abs(z):.1f} of "
                                          "our standard errors: a disagreement."))
    lines += [""] + verdicts
    s, p = result["settings"], result["provenance"]
    settings = ", ".join(f"{k} {v}" for k, v in s.items() if k != "reproduction")
    dirty = " (uncommitted changes)" if p["dirty"] else ""
    lines += ["", f"Settings: {settings}.", "",
              f"Provenance: commit `{p['commit'][:10]}`{dirty}, {p['date']}, {p['wall_seconds']:,} s wall "
              f"with {p['jobs']} runs side by side on {p['cpu']} ({p['cores']} cores, "
              f"{p['threads_per_run']} thread per run), torch {p['torch']}, numpy {p['numpy']}, "
              f"Python {p['python']}.", ""]
    return lines


class Reproductions(SphinxDirective):
    """``.. reproductions::`` (MyST: a ``{reproductions}`` fence): every reproduction in ``results/``."""

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        files = sorted(RESULTS.glob("*.json"))
        lines: list[str] = []
        for path in files:
            self.env.note_dependency(str(path))
            result = json.loads(path.read_text())
            if "rows" in result:
                lines += [f"**{result['experiment']}** (`results/{path.name}`)", ""] + table_lines(result)
        if not lines:
            lines = ["No reproduction has been recorded yet: run `make reproduce`."]
        self.state.nested_parse(StringList(lines, source=str(RESULTS)), self.content_offset, container)
        return [container]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("reproductions", Reproductions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
