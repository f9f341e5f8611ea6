"""Importing symlib and torch_geometric prints nothing, while other warnings still reach the reader.

torch_geometric calls the deprecated ``torch.jit.script`` when it is imported (a DeprecationWarning
on torch 2.9–2.13, a FutureWarning from 2.14 on); ``symlib/__init__.py`` silences exactly that
message. Each check runs in a fresh interpreter with every warning shown (``-W default``), since a
module imported once is not imported again in this one.
"""

import re
import subprocess
import sys
from pathlib import Path

SYMLIB = Path(__file__).resolve().parent.parent / "symlib"


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                          timeout=300, check=True)


def test_importing_symlib_then_torch_geometric_prints_nothing():
    result = run("import symlib, torch_geometric\n"
                 "from symlib.layers.graphs import GNN\n"
                 "from symlib.layers.egnn import EGNN\n"
                 "import torch\n"
                 "GNN(3, 2)(torch.ones(4, 3), torch.tensor([[0, 1, 2], [1, 2, 3]]))")
    assert result.stderr == ""
    assert result.stdout == ""


def test_other_warnings_still_show():
    result = run("import warnings, symlib, torch_geometric\n"
                 "warnings.warn('a FutureWarning of the book', FutureWarning)\n"
                 "warnings.warn('a DeprecationWarning of the book', DeprecationWarning)")
    assert "FutureWarning: a FutureWarning of the book" in result.stderr
    assert "DeprecationWarning: a DeprecationWarning of the book" in result.stderr


def test_symlib_never_calls_torch_jit():
    """The filter hides the message wherever it comes from, so symlib must not be a source of it."""
    uses = [f"{path.relative_to(SYMLIB.parent)}:{n}" for path in sorted(SYMLIB.rglob("*.py"))
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if re.search(r"torch\.jit\b|import jit\b|\bjit\.(script|trace)\(", line.split("#", 1)[0])]
    assert uses == []
