"""Make chapters ready for Colab: a GPU runtime for the chapters that train, and a note on running
at full scale right above the ``parameters`` cell.

    python scripts/prepare_colab.py notebooks/*.ipynb

Idempotent. Touches notebook metadata and one markdown cell (id ``full-scale-note``), never a code
cell or an output, so ``pytest --nbval`` compares the same outputs as before.
``tests/test_book_contract.py`` checks the result for every notebook.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

NOTE_ID = "full-scale-note"
#: What Colab writes when a notebook's runtime is set to a GPU (Runtime → Change runtime type).
COLAB_GPU = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}


def trains(nb: nbformat.NotebookNode) -> bool:
    """A chapter that trains a model (uses ``symlib.train``) wants a GPU at full scale."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return bool(re.search(r"\bsymlib\.train\b", code))


def note(path: Path, gpu: bool) -> str:
    if gpu:
        where = ("On Colab this chapter opens with a GPU runtime (check *Runtime → Change runtime type*); "
                 "set the parameter, then *Runtime → Run all*.")
    else:
        where = ("This chapter trains nothing, so on Colab any runtime will do: set the parameter, "
                 "then *Runtime → Run all*.")
    command = f"papermill notebooks/{path.name} {path.stem}_full.ipynb -p SCALE full"
    return (f'> **Run it at full scale.** Set `SCALE = "full"` in the next cell. {where} '
            f"From a terminal: `{command}`.")


def prepare(path: Path) -> bool:
    """Update ``path`` in place; return whether it changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    gpu = trains(nb)
    for key, value in COLAB_GPU.items():
        if gpu:
            nb.metadata[key] = value
    cells = [c for c in nb.cells if c.get("id") != NOTE_ID]
    at = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    cell = nbformat.v4.new_markdown_cell(note(path, gpu))
    cell.id = NOTE_ID
    nb.cells = cells[:at] + [cell] + cells[at:]
    nbformat.validate(nb)
    if nbformat.writes(nb) == before:
        return False
    nbformat.write(nb, path)
    return True


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        print(f"{arg}: {'updated' if prepare(Path(arg)) else 'already prepared'}")
