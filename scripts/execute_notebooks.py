"""Execute notebooks in place at ``ci`` scale and store their outputs: the project's one way of
producing the outputs that the book shows and ``pytest --nbval`` compares against.

    python scripts/execute_notebooks.py notebooks/*.ipynb

Runs notebooks one after another (two torch processes sharing two cores slow each other down many
times over), with progress bars off, and prints each notebook's execution time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def _merge_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same stream: how the kernel happened to flush
    ``print`` calls must not change the stored notebook."""
    merged: list = []
    for out in outputs:
        if merged and out.output_type == "stream" and merged[-1].output_type == "stream" \
                and merged[-1].name == out.name:
            merged[-1].text += out.text
        else:
            merged.append(out)
    return merged


def execute(path: Path, timeout: int = 900) -> float:
    """Execute ``path`` in place; return the wall time in seconds. Raises on a failing cell."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # no timestamps in the stored notebook: clean diffs
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nb.metadata.pop("widgets", None)  # widget state holds random model ids: not reproducible
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
    nbformat.write(nb, path)
    return elapsed


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit("usage: execute_notebooks.py NOTEBOOK.ipynb ...")
    os.environ["SYMLIB_PROGRESS"] = "0"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    total = 0.0
    for p in paths:
        seconds = execute(Path(p))
        total += seconds
        print(f"{seconds:7.1f} s  {p}", flush=True)
    print(f"{total:7.1f} s  total")


if __name__ == "__main__":
    main(sys.argv[1:])
