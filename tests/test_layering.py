"""symlib's layering, read from its import statements with ``ast`` (no module is imported).

The package is layered so that each piece can be read and tested on its own:

* ``symlib.layers`` builds models; it never imports the data (a model takes sizes as arguments) nor
  the measurement (``equivariance``, ``audit``, ``stats``, ``claims``) nor the training loop;
* ``symlib.data`` generates and loads data and declares the symmetries of each kind of data
  (``symlib.symmetry``); it never imports the layers, the measurement or the training loop;
* the modules import one another without cycles (top-level imports: what runs at import time).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "symlib"
MEASUREMENT = ("symlib.equivariance", "symlib.audit", "symlib.stats", "symlib.claims")
FORBIDDEN = {
    "symlib.layers": ("symlib.data", "symlib.train", *MEASUREMENT),
    "symlib.data": ("symlib.layers", "symlib.train", *MEASUREMENT),
}


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The symlib modules ``path`` imports (``from symlib.x import y`` counts ``symlib.x.y`` when that
    is a module, else ``symlib.x``)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("symlib")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("symlib"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


MODULES = {_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_module_list_is_read() -> None:
    assert {"symlib.audit", "symlib.data.nbody", "symlib.layers.egnn", "symlib.symmetry"} <= set(MODULES)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_what_it_must_not(layer: str) -> None:
    edges = sorted((m, imported) for m, p in MODULES.items() if _inside(m, layer)
                   for imported in _imports(p, top_level_only=False)
                   if any(_inside(imported, banned) for banned in FORBIDDEN[layer]))
    assert edges == [], f"{layer} must not import {FORBIDDEN[layer]}; found {edges}"


def test_no_import_cycles() -> None:
    graph = {m: {i for i in _imports(p, top_level_only=True) if i in MODULES and i != m}
             for m, p in MODULES.items()}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = "open"
        for nxt in sorted(graph[m]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == [], f"import cycles: {cycles}"


def test_the_test_can_fail(tmp_path: Path) -> None:
    """The reader sees a forbidden edge: a layer module importing data is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("from symlib.data.mnist1d import LENGTH\nimport torch\n")
    assert _imports(bad, top_level_only=False) == {"symlib.data.mnist1d"}
    lazy = tmp_path / "lazy.py"
    lazy.write_text("def f():\n    from symlib.audit import audit\n")
    assert _imports(lazy, top_level_only=False) == {"symlib.audit"}
    assert _imports(lazy, top_level_only=True) == set()
