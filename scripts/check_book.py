"""Check the built HTML book: every chapter page exists, has its Colab launch button pointing at
the right notebook, shows its figures, links the glossary, and leaks no matplotlib reprs; no page
loads a script from the internet (MathJax is served from _static) or runs an inline script twice.
Run after ``jupyter-book build``; ``tests/test_browser.py`` then checks the pages in a browser.

    python scripts/check_book.py [_build/html]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]


def colab_url(notebook: Path) -> str:
    """The Colab URL that the launch button must produce for ``notebook`` (a path in the repository)."""
    repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    slug = repo["url"].removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{slug}/blob/{repo['branch']}/{notebook.as_posix()}"


def check(html_dir: Path) -> list[str]:
    problems = []
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        rel = nb_path.relative_to(ROOT)
        page = html_dir / rel.with_suffix(".html")
        if not page.exists():
            problems.append(f"{rel}: no page {page}")
            continue
        html = page.read_text()
        if colab_url(rel) not in html:
            problems.append(f"{rel}: no Colab launch button for {colab_url(rel)}")
        nb = nbformat.read(nb_path, as_version=4)
        figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                      and "remove-output" not in c.metadata.get("tags", []) for o in c.outputs)
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        if len(images) < figures:
            problems.append(f"{rel}: {figures} figures in the notebook, {len(images)} on the page")
        for src in images:
            if not (page.parent / src).resolve().exists():
                problems.append(f"{rel}: missing image {src}")
        if "&lt;Figure size" in html:
            problems.append(f"{rel}: a matplotlib <Figure> repr leaked into the page")
        if "glossary.html#term-" not in html:
            problems.append(f"{rel}: no link to the glossary (python scripts/link_glossary.py {rel})")
    for page in sorted(html_dir.rglob("*.html")):
        if "_static" in page.parts:
            continue
        html = page.read_text()
        name = page.relative_to(html_dir)
        for src in re.findall(r'<script[^>]+src="((?:https?:)?//[^"]+)"', html):
            problems.append(f"{name}: loads a script from the internet: {src}")
        inline = re.findall(r"<script>(.*?)</script>", html, re.S)
        for body in sorted({b for b in inline if inline.count(b) > 1}):
            problems.append(f"{name}: inline script included {inline.count(body)} times: {body[:60]}")
    return problems


if __name__ == "__main__":
    html_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "_build" / "html")
    found = check(html_dir)
    for p in found:
        print(p)
    sys.exit(1 if found else print(f"book OK: {html_dir}"))
