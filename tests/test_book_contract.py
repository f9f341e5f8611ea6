"""The book as readers use it, checked statically on the committed notebooks and book pages: Colab
(install cell, launch URL, GPU runtime, the note on full scale), reading aids (glossary links,
hidden solutions, bibliography). ``tests/test_browser.py`` checks the same things in the built
HTML, in a real browser.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]
BIB = ROOT / "book" / "references.bib"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_script", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GLOSSARY = _script("link_glossary")
CHECK_BOOK = _script("check_book")
COLAB = _script("prepare_colab")


def _markdown(nb: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _code(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def path(request: pytest.FixtureRequest) -> Path:
    return request.param


@pytest.fixture
def notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


# --- Colab ---------------------------------------------------------------------------------------

def test_launch_button_opens_this_notebook_on_colab(path: Path) -> None:
    """sphinx-book-theme builds the Colab URL from _config.yml; it must name this file on the branch."""
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["repository"]["path_to_book"] == "", "the Colab URL would not point at notebooks/"
    rel = path.relative_to(ROOT)
    slug = REPO_URL.removeprefix("https://github.com/")
    assert CHECK_BOOK.colab_url(rel) == (
        f"https://colab.research.google.com/github/{slug}/blob/{CONFIG['repository']['branch']}/notebooks/{path.name}")


def test_install_cell_keeps_colabs_torch(notebook: nbformat.NotebookNode) -> None:
    """Only symlib, from the configured repository; nothing that would replace the preinstalled torch."""
    first = _code(notebook)[0].source
    installs = [line for line in first.splitlines() if re.match(r"\s*[%!]\s*pip\b", line)]
    assert len(installs) == 1, f"one pip install line expected, got {installs}"
    assert f'"symlib @ git+{REPO_URL}"' in installs[0]
    assert not re.search(r"torch|--upgrade|\s-U\b|--force-reinstall|--no-deps|==", installs[0]), installs[0]


def test_dependencies_accept_any_recent_torch() -> None:
    """Lower bounds only: Colab's torch satisfies ``torch>=...`` and pip leaves it alone."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        assert not re.search(r"<|==|~=|!=", dep), (
            f"{dep!r}: an upper bound or pin could force a reinstall on Colab")


def test_install_resolves_against_the_installed_torch(tmp_path: Path) -> None:
    """What the install cell asks pip for on Colab, resolved against this environment's packages
    (its torch standing in for Colab's): symlib's dependencies are all satisfied, so pip would
    install nothing besides symlib, and in particular not another torch."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    report = tmp_path / "report.json"
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report)]
    subprocess.run([*pip, *deps], check=True, capture_output=True, text=True, timeout=300)
    installs = sorted(item["metadata"]["name"] for item in json.loads(report.read_text())["install"])
    assert installs == [], f"installing symlib would also install {installs}"


def test_training_chapters_ask_colab_for_a_gpu(path: Path, notebook: nbformat.NotebookNode) -> None:
    if not COLAB.trains(notebook):
        pytest.skip("this chapter trains nothing: Colab's default runtime is enough")
    fix = f"; run: python scripts/prepare_colab.py notebooks/{path.name}"
    assert notebook.metadata.get("accelerator") == "GPU", 'notebook metadata needs "accelerator": "GPU"' + fix
    assert notebook.metadata.get("colab", {}).get("gpuType"), (
        'notebook metadata needs "colab": {"gpuType": ...}' + fix)


def test_a_note_on_full_scale_precedes_the_parameters_cell(path: Path,
                                                           notebook: nbformat.NotebookNode) -> None:
    cells = notebook.cells
    i = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    note = cells[i - 1]
    fix = f"; run: python scripts/prepare_colab.py notebooks/{path.name}"
    assert note.cell_type == "markdown", "a markdown note must come right before the parameters cell" + fix
    assert 'SCALE = "full"' in note.source and "Colab" in note.source, note.source
    assert f"papermill notebooks/{path.name}" in note.source, (
        "the note gives the papermill command for this chapter")
    if COLAB.trains(notebook):
        assert "GPU" in note.source


# --- Reading aids --------------------------------------------------------------------------------

def test_glossary_defines_exactly_the_linked_terms() -> None:
    assert sorted(GLOSSARY.glossary_terms()) == sorted(GLOSSARY.TERMS), \
        "book/glossary.md and TERMS in scripts/link_glossary.py must list the same terms"


def test_chapter_links_every_glossary_term_it_uses(path: Path, notebook: nbformat.NotebookNode) -> None:
    missing = GLOSSARY.unlinked(notebook)
    assert not missing, (f"{path.name} uses {missing} but never links them to the glossary; "
                         f"run: python scripts/link_glossary.py notebooks/{path.name}")


def test_term_links_name_glossary_terms(notebook: nbformat.NotebookNode) -> None:
    known = {t.lower() for t in GLOSSARY.glossary_terms()}
    unknown = GLOSSARY.linked_terms(_markdown(notebook)) - known
    assert not unknown, f"{{term}} links to terms the glossary does not define: {sorted(unknown)}"


def test_exercise_solutions_are_hidden_in_dropdowns(notebook: nbformat.NotebookNode) -> None:
    markdown = _markdown(notebook)
    exercises = markdown.split("## Exercises", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^\d+\. ", exercises, re.M), "the Exercises section lists numbered exercises"
    blocks = re.findall(r"^(:{3,})\{admonition\} *Solutions?\s*\n((?::[\w-]+:.*\n)*)", exercises, re.M)
    assert blocks, "solutions go in a ':::{admonition} Solutions' block"
    assert all(re.search(r":class:.*\bdropdown\b", options) for _, options in blocks), \
        "the solutions admonition needs ':class: dropdown' so that it starts collapsed"


def _bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(), re.M))


def test_every_cited_paper_is_in_the_bibliography(notebook: nbformat.NotebookNode) -> None:
    cited = {k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", _markdown(notebook))
             for k in group.split(",")}
    assert cited, "a chapter cites its sources"
    assert not cited - _bib_keys(), f"cited but not in book/references.bib: {sorted(cited - _bib_keys())}"


def test_bibliography_has_no_duplicate_keys() -> None:
    keys = re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(), re.M)
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


# "Zaheer et al. (2017)", "Cohen & Welling 2016", "Greydanus 2020": a paper named in prose or a docstring.
_NAMED_PAPER = re.compile(r"\b([A-Z][a-zA-Z-]+)"                      # the (first) author's surname
                          r"(?: et al\.?| (?:&|and) [A-Z][a-zA-Z-]+)?"    # "et al." or a second author
                          r",? \(?((?:19|20)\d\d)\b")                     # the year


def _bib_authors_years() -> list[tuple[str, str]]:
    entries = re.findall(r"^@\w+\{[^,]+,(.*?)^\}", BIB.read_text(), re.M | re.S)
    return [(re.search(r"author\s*=\s*\{(.*)\}", e).group(1),
             re.search(r"year\s*=\s*\{(\d{4})\}", e).group(1)) for e in entries]


def test_every_paper_named_in_the_book_or_library_is_in_the_bibliography() -> None:
    texts = {p: p.read_text() for p in [*ROOT.glob("symlib/**/*.py"), *ROOT.glob("scripts/*.py"),
                                         *ROOT.glob("book/*.md")]}
    texts |= {p: _markdown(nbformat.read(p, as_version=4)) for p in NOTEBOOKS}
    entries = _bib_authors_years()
    missing = {f"{p.relative_to(ROOT)}: {m.group(0)}"
               for p, text in texts.items() for m in _NAMED_PAPER.finditer(text)
               if not any(m.group(1) in authors and year == m.group(2) for authors, year in entries)}
    assert not missing, f"named but not in book/references.bib: {sorted(missing)}"
    assert _NAMED_PAPER.search("as Satorras et al. 2021 show") and not _NAMED_PAPER.search("in 2021 we")


def test_the_api_reference_documents_every_module() -> None:
    """book/api.md is written by hand, module by module: a new module must get its section."""
    api = (ROOT / "book" / "api.md").read_text()
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
               for p in (ROOT / "symlib").rglob("*.py")}
    missing = sorted(m for m in modules if f".. automodule:: {m}\n" not in api)
    assert not missing, f"add to book/api.md: {missing}"
