"""Link each chapter's first use of a glossary term to the glossary (book/glossary.md).

    python scripts/link_glossary.py notebooks/*.ipynb         # add the missing links, in place
    python scripts/link_glossary.py --check notebooks/*.ipynb # list them, change nothing

A chapter that uses a term (any of the words listed for it in ``TERMS``, in prose: code, math,
links, headings, roles and directive lines do not count) must link it at least once with MyST's
``{term}`` role; ``tests/test_notebooks.py`` checks this for every notebook. This script wraps the
first such word of each unlinked term, as ``{term}`equivariant <equivariance>```. It edits
markdown cells only, so the stored outputs that ``pytest --nbval`` compares do not change.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glossary.md"

#: Glossary term -> the words that count as using it. Lowercase words match in any case; words with
#: capitals match exactly. A term with no words (an ambiguous one, such as "representation", which
#: is also a machine-learning word) is linked by hand where it is meant.
TERMS: dict[str, list[str]] = {
    "canonicalisation": ["canonicalisation", "canonicalise", "canonicalised", "canonicalising",
                         "canonicalization", "canonicalize", "canonicalized"],
    "circulant matrix": ["circulant matrix", "circulant matrices", "circulant", "circulants"],
    "commutation constraint": ["commutation constraint", "commutes with", "commute with", "commuting with"],
    "compute-optimal frontier": ["compute-optimal frontier", "compute-optimal", "frontier", "frontiers"],
    "cyclic group": ["cyclic group", "cyclic groups", "cyclic"],
    "data augmentation": ["data augmentation", "augmentation", "augmented"],
    "DeepSets": ["DeepSets"],
    "dihedral group": ["dihedral group", "dihedral"],
    "EGNN": ["EGNN", "EGNNs"],
    "equivariance": ["equivariance", "equivariant", "equivariantly"],
    "equivariance error": ["equivariance error", "equivariance errors",
                           "invariance error", "invariance errors"],
    "Euclidean group": ["Euclidean group", "Euclidean", "E(3)", "E(n)", "SE(3)", "SO(3)", "O(3)",
                        "rigid motion", "rigid motions", "rigid transformation", "rigid transformations"],
    "group": ["group", "groups"],
    "group action": ["group action", "group actions", "action", "actions"],
    "group convolution": ["group convolution", "group convolutions", "G-CNN", "G-CNNs", "p4-CNN", "p4",
                          "p4m", "lifting convolution", "lifting"],
    "inductive bias": ["inductive bias", "inductive biases"],
    "invariance": ["invariance", "invariant", "invariants"],
    "invariant point attention": ["invariant point attention", "IPA"],
    "locality": ["locality", "locally connected"],
    "message passing": ["message passing", "message-passing"],
    "orbit": ["orbit", "orbits"],
    "permutation": ["permutation", "permutations", "symmetric group", "relabelling", "relabellings"],
    "positional encoding": ["positional encoding", "positional encodings"],
    "power law": ["power law", "power laws", "power-law", "scaling law", "scaling laws"],
    "relaxed equivariance": ["relaxed equivariance"],
    "representation": [],
    "soft equivariance": ["soft equivariance", "soft-equivariant", "approximate equivariance"],
    "stabiliser": ["stabiliser", "stabilisers", "stabilizer", "stabilizers"],
    "symmetrisation": ["symmetrisation", "symmetrization", "group averaging", "frame averaging"],
    "symmetry": ["symmetry", "symmetries"],
    "symmetry breaking": ["symmetry breaking", "symmetry-breaking", "broken symmetry", "broken symmetries"],
    "translation": ["translation", "translations"],
    "weight sharing": ["weight sharing", "weight-sharing", "shared weights", "tied weights"],
}

# Prose only: these spans never count as using a term, and are never rewritten.
_PROTECTED = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[\s\S]*?^[ \t]*\1[ \t]*$"  # fenced code, backtick directives ({figure}, …)
    r"|\$\$[\s\S]*?\$\$|\$[^$\n]+\$"                 # math
    r"|\\begin\{(\w+\*?)\}[\s\S]*?\\end\{\2\}"       # amsmath environments
    r"|(?:\{[\w:.-]+\})?`[^`\n]*`"          # roles ({term}`…`, {cite}`…`, {glue:text}`…`) and inline code
    r"|!?\[[^\]]*\]\([^)]*\)"               # links and images
    r"|<[^>]+>|https?://\S+"                # HTML and bare URLs
    r"|^[ \t]*#{1,6}[ \t].*$"               # headings
    r"|^[ \t]*(?::{3,}|:[\w-]+:).*$"        # colon-fence directive lines and their options
    r"|^\(\S+\)=[ \t]*$"                    # labels
    r'|"[^"]{1,400}"',                      # quotations (of the article): link the book's own words
    re.M,
)
_ROLE = re.compile(r"\{term\}`([^`]*)`")


def _alias_pattern(alias: str) -> re.Pattern[str]:
    flags = 0 if any(ch.isupper() for ch in alias) else re.I
    return re.compile(r"(?<![\w-])" + re.escape(alias) + r"(?![\w-])", flags)


_PATTERNS = [(term, _alias_pattern(a)) for term, aliases in TERMS.items() for a in aliases]


def glossary_terms(path: Path = GLOSSARY) -> list[str]:
    """The terms defined in the ``{glossary}`` block of ``book/glossary.md``."""
    block = path.read_text().split("```{glossary}", 1)[1].split("\n```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line[0].isspace()
            and not line.startswith(":")]


def linked_terms(text: str) -> set[str]:
    """Terms that ``text`` links with ``{term}`` (lowercased, as Sphinx looks them up)."""
    targets = set()
    for inner in _ROLE.findall(text):
        m = re.search(r"<([^<>]+)>\s*$", inner)
        targets.add((m.group(1) if m else inner).strip().lower())
    return targets


def uses(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` for every use of a glossary term in the prose of ``text``, in order;
    where uses overlap the longest wins ("invariant point attention" over "invariant")."""
    protected = [m.span() for m in _PROTECTED.finditer(text)]

    def free(a: int, b: int) -> bool:
        return not any(a < pe and ps < b for ps, pe in protected)

    found = sorted(((m.start(), m.end(), term) for term, pat in _PATTERNS for m in pat.finditer(text)
                    if free(*m.span())), key=lambda u: (u[0], -u[1]))
    chosen: list[tuple[int, int, str]] = []
    for u in found:
        if not chosen or u[0] >= chosen[-1][1]:
            chosen.append(u)
    return chosen


def _prose(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "markdown"]


def unlinked(nb: nbformat.NotebookNode) -> list[str]:
    """Glossary terms the notebook uses in prose but never links, in order of first use."""
    linked = set().union(*(linked_terms(c.source) for c in _prose(nb)))
    missing: list[str] = []
    for cell in _prose(nb):
        for _, _, term in uses(cell.source):
            if term.lower() not in linked and term not in missing:
                missing.append(term)
    return missing


def link(nb: nbformat.NotebookNode) -> list[str]:
    """Wrap the first use of every unlinked term in ``{term}``; return the terms linked."""
    todo = unlinked(nb)
    done: list[str] = []
    for cell in _prose(nb):
        firsts: dict[str, tuple[int, int]] = {}
        for start, end, term in uses(cell.source):
            if term in todo and term not in done and term not in firsts:
                firsts[term] = (start, end)
        text = cell.source
        for term, (start, end) in sorted(firsts.items(), key=lambda kv: -kv[1][0]):
            word = text[start:end]
            role = f"{{term}}`{word}`" if word.lower() == term.lower() else f"{{term}}`{word} <{term}>`"
            text = text[:start] + role + text[end:]
        cell.source = text
        done += sorted(firsts, key=lambda t: firsts[t])
    return done


def main(args: list[str]) -> int:
    check = "--check" in args
    paths = [Path(a) for a in args if a != "--check"]
    if not paths:
        print(__doc__)
        return 2
    status = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if check:
            missing = unlinked(nb)
            if missing:
                status = 1
                print(f"{path}: uses but never links {', '.join(missing)}")
        else:
            done = link(nb)
            if done:
                nbformat.write(nb, path)
            print(f"{path}: linked {', '.join(done) or 'nothing'}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
