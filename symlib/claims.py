"""A chapter's checked claims.

Every claim the prose makes is restated as a condition computed by the notebook, in the cell that
measures it. Each claim prints one deterministic line; the chapter's last cell closes the record,
reprints every claim, and raises :class:`ClaimFailed` if any was false, so ``pytest --nbval`` fails
the moment the book stops being true::

    claims = symlib.Claims("00 · the calculation")          # once, after the imports
    ...
    claims.check("a 3×3 conv has 1,728 weights", n_conv == 1_728)   # next to its evidence
    ...
    claims.close()                                           # the last cell

The block form checks and closes in one cell::

    with symlib.Claims("00 · the calculation") as claims:
        claims.check("the ratio is above 5,500", ratio > 5_500)

Two kinds of claim. A **check** (``check``) is an identity, a theorem, a construction verified
against itself, or a symmetry that holds by construction: still executed, still failing the chapter,
but not evidence of anything that could have come out otherwise. A **finding** (``finding``) is an
empirical result that could have come out either way; it carries the declared test that decides it
(:func:`symlib.stats.welch`, :func:`symlib.stats.one_sample`), whose numbers are printed on a line of
their own, marked ``⟨stat⟩``: they depend on training and on the machine, so ``nbval_sanitize.cfg``
blanks them, and the claim line itself is what ``pytest --nbval`` compares::

    claims.finding("the CNN beats the MLP by more than 15 points", test.above(0.15), test)

With ``SYMLIB_RECORD=DIR`` set, every claim and every glued value is also appended, as one JSON line,
to ``DIR/<process id>.jsonl``: how ``scripts/gpu_check.sh`` collects what each chapter measured on
another machine (one kernel process per notebook, so one file per chapter).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from types import TracebackType

import numpy as np

__all__ = ["STAT", "ClaimFailed", "Claims", "GLUE_DIGITS", "glue", "record"]


def record(**fields: object) -> None:
    """Append ``fields`` as a JSON line to ``$SYMLIB_RECORD/<pid>.jsonl``; nothing if it is unset."""
    folder = os.environ.get("SYMLIB_RECORD")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(fields, ensure_ascii=False, default=str) + "\n")


def _line(statement: str, holds: bool) -> str:
    """How a claim is printed, where it is checked and again when the chapter closes its claims."""
    return f"{'✓' if holds else '✗ FALSE'}  {statement}"


#: Marks the line that carries a finding's statistics (blanked by ``nbval_sanitize.cfg``).
STAT = "⟨stat⟩"


class ClaimFailed(AssertionError):
    """Raised at the end of a claims block when at least one claim is false."""


class Claims:
    """Collect and print claims; raise :class:`ClaimFailed` on exit if any is false.

    Args:
        chapter: a short name printed in the header line.
    """

    def __init__(self, chapter: str) -> None:
        self.chapter = chapter
        self.results: list[tuple[str, bool]] = []
        self.findings: set[int] = set()                      # indices into results

    def check(self, statement: str, holds: bool | np.bool_) -> None:
        """Record and print one check (module docstring). ``holds`` must be a real boolean (not a
        tensor or a number), so a claim cannot pass by accident through truthiness. Returns nothing,
        so that a cell ending in a check shows only its line; the verdicts are in :attr:`results`."""
        self._add(statement, holds, "check", ())

    def finding(self, statement: str, holds: bool | np.bool_, *tests: object) -> None:
        """Record and print one finding: an empirical result decided by the declared test(s)
        ``tests`` (:class:`symlib.stats.Test`, at least one), whose numbers are printed on a
        ``⟨stat⟩`` line each. ``holds`` is the decision drawn from them (e.g. ``test.resolved``,
        ``test.above(0.15)``), a real boolean as for :meth:`check`."""
        from symlib.stats import Test

        if not tests or not all(isinstance(t, Test) for t in tests):
            raise TypeError(f"finding {statement!r}: give the symlib.stats test(s) that decide it")
        self._add(statement, holds, "finding", tuple(str(t) for t in tests))

    def _add(self, statement: str, holds: bool | np.bool_, kind: str, stats: tuple[str, ...]) -> None:
        if not isinstance(holds, (bool, np.bool_)):
            raise TypeError(f"claim {statement!r}: expected a bool, got {type(holds).__name__}; "
                            "compare explicitly (e.g. `error < tol`)")
        ok = bool(holds)
        if kind == "finding":
            self.findings.add(len(self.results))
        self.results.append((statement, ok))
        record(kind="claim", type=kind, chapter=self.chapter, statement=statement, holds=ok,
               stats=list(stats))
        print(_line(statement, ok))
        for line in stats:
            print(f"   {STAT} {line}")

    @property
    def failed(self) -> list[str]:
        return [s for s, ok in self.results if not ok]

    def close(self) -> None:
        """Reprint every claim checked so far, findings then checks (a group without claims says
        ``none``), then raise :class:`ClaimFailed` if any was false (or if
        none was checked); the last cell of a chapter."""
        print(f"Claims of chapter {self.chapter}")
        for title, chosen in (("findings", True), ("checks", False)):
            group = [(s, ok) for k, (s, ok) in enumerate(self.results) if (k in self.findings) == chosen]
            print(f"{title}:" if group else f"{title}: none")
            for statement, ok in group:
                print(_line(statement, ok))
        self._verdict()

    def _verdict(self) -> None:
        if not self.results:
            raise ClaimFailed(f"chapter {self.chapter} checked no claims")
        if self.failed:
            raise ClaimFailed(f"{len(self.failed)} of {len(self.results)} claims are false: "
                              + "; ".join(self.failed))
        f, c = len(self.findings), len(self.results) - len(self.findings)
        print(f"all {len(self.results)} claims hold ({f} finding{'s' * (f != 1)}, {c} check{'s' * (c != 1)})")

    def __enter__(self) -> Claims:
        print(f"Claims of chapter {self.chapter}")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self._verdict()


#: Significant digits a glued float keeps (at least two decimals): one or two more than the prose shows.
GLUE_DIGITS = 5


def glue(name: str, value: object) -> None:
    """Make ``value`` available to the chapter's prose as ``{glue:text}`name``` (myst-nb).

    Numbers in the book's prose come from cells this way, never typed by hand. A float is stored
    rounded to :data:`GLUE_DIGITS` significant digits (and at least two decimals, for large ratios):
    the prose never shows more, and the digits beyond are float32 or training noise that differs
    between CPUs, which the stored notebook must not carry. Where myst-nb is not installed (e.g. on
    Colab) this does nothing: the notebook prints the numbers anyway.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # NumPy/torch scalars: their
        value = value.item()  # reprs ("np.float64(0.5)") cannot be formatted in the prose
    record(kind="glue", name=name, value=value)
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        value = round(value, max(2, GLUE_DIGITS - 1 - math.floor(math.log10(abs(value)))))
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    _glue(name, value, display=False)
