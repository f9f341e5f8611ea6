"""Audit a model's symmetries: which of a list of transformations it is invariant or equivariant to,
measured, in each floating-point precision, with a verdict at that precision's tolerance.

    report = audit(model, x, [
        Symmetry("translation", CyclicShift2d(8, 8)),                 # equivariant: f(g·x) = g·f(x)
        Symmetry("rotation by 90°", Rot90(), Trivial()),              # invariant:   f(g·x) = f(x)
    ])
    report                    # renders as a table in a notebook; str(report) is the plain-text table
    report["translation"].holds

Each row is :func:`symlib.equivariance.equivariance_error` (the relative error
``max_g ‖f(g·x) − g·f(x)‖ / ‖g·f(x)‖`` over all elements of a small group, or seeded samples of a
large one) evaluated on a copy of the model and the input cast to each dtype. A symmetry *holds*
when its error is within :func:`symlib.equivariance.tolerance` in every dtype audited: an exact
symmetry's error is rounding, and shrinks from float32 to float64; a broken one does not.
"""

from __future__ import annotations

import copy
import functools
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from symlib.equivariance import cast_floats, equivariance_error, tolerance
from symlib.groups import Action, Trivial

__all__ = ["Audit", "AuditRow", "Symmetry", "audit"]


@dataclass(frozen=True)
class Symmetry:
    """A transformation to audit. ``act_out`` is how the output should transform: ``None`` means the
    same action as the input (equivariance), :class:`~symlib.groups.Trivial` means invariance.
    ``elements`` fixes the group elements tested (default: all, or 8 seeded samples)."""

    name: str
    act_in: Action
    act_out: Action | None = None
    elements: Sequence[Any] | None = None

    @property
    def kind(self) -> str:
        return "invariant" if isinstance(self.act_out, Trivial) else "equivariant"


@dataclass
class AuditRow:
    """One symmetry's measurement: ``errors[dtype name]`` (relative) and whether it holds in all."""

    symmetry: str
    kind: str
    errors: dict[str, float] = field(default_factory=dict)
    holds: bool = True


@dataclass
class Audit:
    """The result of :func:`audit`: rows in the order the symmetries were given."""

    model: str
    dtypes: list[str]
    rows: list[AuditRow]

    def __getitem__(self, name: str) -> AuditRow:
        for row in self.rows:
            if row.symmetry == name:
                return row
        raise KeyError(f"no symmetry {name!r} in this audit; audited: {[r.symmetry for r in self.rows]}")

    def holding(self) -> list[str]:
        """Names of the symmetries that hold."""
        return [r.symmetry for r in self.rows if r.holds]

    def __str__(self) -> str:
        width = max([len(r.symmetry) for r in self.rows] + [8])
        head = f"{'symmetry':<{width}}  {'kind':<11}" + "".join(f"{d:>10}" for d in self.dtypes) + "   holds"
        lines = [f"audit of {self.model}", head]
        for r in self.rows:
            lines.append(f"{r.symmetry:<{width}}  {r.kind:<11}"
                         + "".join(f"{r.errors[d]:>10.0e}" for d in self.dtypes)
                         + f"   {'yes' if r.holds else 'no'}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        cells = "".join(f"<th>{d} error</th>" for d in self.dtypes)
        body = "".join(
            f"<tr><td>{html.escape(r.symmetry)}</td><td>{r.kind}</td>"
            + "".join(f"<td>{r.errors[d]:.0e}</td>" for d in self.dtypes)
            + f"<td>{'✓ holds' if r.holds else '✗ broken'}</td></tr>" for r in self.rows)
        return (f"<table><caption>audit of {html.escape(self.model)}</caption><thead><tr><th>symmetry</th>"
                f"<th>kind</th>{cells}<th>verdict</th></tr></thead><tbody>{body}</tbody></table>")


def audit(model: Callable[..., Any], x: Any, symmetries: Sequence[Symmetry], *,
          dtypes: Sequence[torch.dtype] = (torch.float32, torch.float64), name: str | None = None,
          call: Callable[[Any, Any], Any] | None = None, samples: int = 8) -> Audit:
    """Measure ``model``'s error for each symmetry on input ``x``, in each dtype (module docstring).

    ``model`` is an ``nn.Module`` (deep-copied, cast to each dtype and put in eval mode; the original is
    untouched) or a plain function (called on the cast input). ``call(model, x)`` says how to apply it
    when that is not ``model(x)``: e.g. ``lambda m, x: m.features(x)`` for per-token features, or
    ``lambda m, inputs: m(*inputs)`` for a model of several arguments (then ``x`` is their tuple).
    Raises ``ValueError`` for an empty symmetry list, repeated names, or an action that does not fit
    the input (with the action's message).
    """
    if not symmetries:
        raise ValueError("audit needs at least one Symmetry")
    if not all(isinstance(s, Symmetry) for s in symmetries):
        raise TypeError("symmetries must be Symmetry objects: Symmetry(name, act_in, act_out=None)")
    names = [s.name for s in symmetries]
    if len(set(names)) != len(names):
        raise ValueError(f"symmetry names must be unique, got {names}")
    rows = [AuditRow(s.name, s.kind) for s in symmetries]
    label = name if name is not None else type(model).__name__
    for dtype in dtypes:
        f = model
        if isinstance(model, nn.Module):
            f = copy.deepcopy(model).to(dtype).eval()
        if call is not None:
            f = functools.partial(call, f)   # f(inputs) = call(model, inputs)
        xd = cast_floats(x, dtype)
        key = str(dtype).removeprefix("torch.")
        with torch.no_grad():
            for s, row in zip(symmetries, rows):
                result = equivariance_error(f, xd, s.act_in, s.act_out, elements=s.elements, samples=samples)
                row.errors[key] = result.max
                row.holds = row.holds and result.max <= tolerance(dtype)
    return Audit(label, [str(d).removeprefix("torch.") for d in dtypes], rows)
