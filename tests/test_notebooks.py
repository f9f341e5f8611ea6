"""The notebook contract (shared/DESIGN.md), checked statically on the committed notebooks.

``pytest --nbval`` re-executes the notebooks and compares outputs; these tests check what nbval
cannot: that every chapter has the install and parameters cells, stored outputs from one clean
run, no warnings or errors in them, and ends with claims, summary and exercises.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def _toc_files(node: object) -> list[str]:
    if isinstance(node, dict):
        return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in _toc_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in _toc_files(v)]
    return []


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request: pytest.FixtureRequest) -> nbformat.NotebookNode:
    return nbformat.read(request.param, as_version=4)


def test_there_are_chapters() -> None:
    assert NOTEBOOKS, "no notebooks found"


def test_every_chapter_is_in_the_toc_and_vice_versa() -> None:
    toc = _toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    chapters = {f"notebooks/{p.stem}" for p in NOTEBOOKS}
    assert chapters <= set(toc), f"missing from _toc.yml: {sorted(chapters - set(toc))}"
    for entry in toc:
        assert list(ROOT.glob(entry + ".*")), f"_toc.yml names {entry}, which does not exist"


def test_colab_install_cell_uses_the_configured_repository(notebook: nbformat.NotebookNode) -> None:
    first = _code_cells(notebook)[0].source
    assert '"google.colab" in sys.modules' in first, "the first code cell must be the guarded Colab install"
    urls = re.findall(r"git\+(\S+?)[\"']", first)
    assert urls == [REPO_URL], f"install cell installs from {urls}, _config.yml says {REPO_URL}"


def test_parameters_cell_sets_scale_to_ci(notebook: nbformat.NotebookNode) -> None:
    tagged = [c for c in _code_cells(notebook) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters' (papermill)"
    assert re.search(r'^SCALE = "ci"', tagged[0].source, re.M), "the parameters cell must set SCALE = \"ci\""


def test_outputs_come_from_one_clean_run(notebook: nbformat.NotebookNode) -> None:
    counts = [c.execution_count for c in _code_cells(notebook)]
    assert counts == list(range(1, len(counts) + 1)), f"cells not executed once, in order: {counts}"


def test_no_errors_warnings_or_figure_reprs_in_outputs(notebook: nbformat.NotebookNode) -> None:
    for cell in _code_cells(notebook):
        for out in cell.outputs:
            assert out.output_type != "error", f"stored error in cell:\n{cell.source}"
            if out.output_type == "stream":
                assert out.name == "stdout", f"stderr output (a warning?) in cell:\n{cell.source}\n{out.text}"
            data = out.get("data", {})
            if "image/png" not in data:  # a figure's own display carries its repr beside the image
                text = data.get("text/plain", "")
                assert not re.search(r"<Figure size|<matplotlib\.", text), (
                    f"leaked repr in cell:\n{cell.source}")


def test_ends_with_claims_summary_and_exercises(notebook: nbformat.NotebookNode) -> None:
    last = _code_cells(notebook)[-1].source
    assert "symlib.Claims(" in last or re.fullmatch(r"(#[^\n]*\n)*claims\.close\(\)\s*", last), (
        "the last code cell must close the chapter's claims: `claims.close()` (or a Claims block)")
    assert len([line for line in last.splitlines() if line.strip()]) <= 15 or "symlib.Claims(" in last, (
        "the closing claims cell is short")
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    for heading in ("## Summary", "## Exercises", "## References"):
        assert heading in markdown, f"missing section {heading!r}"
    assert "{cite}" in markdown, "a chapter cites its sources with {cite}"


def test_noisy_cells_are_marked_one_by_one(notebook: nbformat.NotebookNode) -> None:
    assert not notebook.metadata.get("nbval", {}), "no notebook-wide nbval settings: mark cells one by one"
    for cell in _code_cells(notebook):
        outputs = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        if outputs:
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), (
                "a widget cell's output is not reproducible")


def test_every_ignored_output_says_why(notebook: nbformat.NotebookNode) -> None:
    """An exemption from nbval's comparison is one tag on one cell, with its reason in the cell's
    metadata (``nbval_ignore_reason``): what varies, and what checks it instead."""
    for cell in _code_cells(notebook):
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            reason = cell.metadata.get("nbval_ignore_reason", "")
            assert len(reason) > 20, f"no reason for ignoring the output of: {cell.source[:80]!r}"
