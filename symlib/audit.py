"""Audit a model's symmetries: which of a list of transformations it is invariant or equivariant to,
measured, in each floating-point precision, with a verdict by the book's one tolerance policy::

    report = audit(model, x, [
        Symmetry("translation", CyclicShift2d(8, 8)),                 # equivariant: f(g·x) = g·f(x)
        Symmetry("rotation by 90°", Rot90(), Trivial()),              # invariant:   f(g·x) = f(x)
    ])
    report                    # renders as a table in a notebook; str(report) is the plain-text table
    report["translation"].holds, report["translation"].verdict       # True, "exact"

Each row is :func:`symlib.equivariance.equivariance_error` (the relative error
``max_g ‖f(g·x) − g·f(x)‖ / ‖g·f(x)‖`` over all elements of a small group, or seeded samples of a
large one) evaluated on a copy of the model and the input cast to each dtype. Each error gets
:func:`symlib.equivariance.verdict`: *exact* (rounding: the symmetry holds), *approximate*, or
*broken*. An exact symmetry's error is rounding, and shrinks from float32 to float64; a broken one
does not.

The symmetries a kind of data has are declared by its data module, as lists of
:class:`~symlib.symmetry.Symmetry` rows: ``symlib.data.images.symmetries``, ``sets``, ``graphs``,
``sequences``, ``nbody``, ``molecules``, ``proteins``, ``spins``. A row may say how to apply the model
for its measurement (``Symmetry.call``), so one audit can look at a model's per-token features and at
its pooled output.
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

from symlib.equivariance import Verdict, cast_floats, equivariance_error
from symlib.symmetry import Call, Symmetry

__all__ = ["Audit", "AuditRow", "audit"]


@dataclass
class AuditRow:
    """One symmetry's measurement: ``errors[dtype name]`` (relative) and ``verdicts[dtype name]`` (by
    :func:`symlib.equivariance.verdict`)."""

    symmetry: str
    kind: str
    errors: dict[str, float] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        """Whether the symmetry is exact (within rounding) in every dtype audited."""
        return all(v == "exact" for v in self.verdicts.values())

    @property
    def verdict(self) -> Verdict:
        """``"exact"`` in every dtype, ``"broken"`` in some dtype, else ``"approximate"``."""
        values = set(self.verdicts.values())
        return "exact" if values == {"exact"} else "broken" if "broken" in values else "approximate"


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

    def errors(self, dtype: torch.dtype | str) -> dict[str, float]:
        """Every symmetry's error in one precision: ``{symmetry name: relative error}``."""
        key = str(dtype).removeprefix("torch.")
        if key not in self.dtypes:
            raise KeyError(f"{key} was not audited; audited: {self.dtypes}")
        return {r.symmetry: r.errors[key] for r in self.rows}

    def holding(self) -> list[str]:
        """Names of the symmetries that hold."""
        return [r.symmetry for r in self.rows if r.holds]

    def __str__(self) -> str:
        width = max([len(r.symmetry) for r in self.rows] + [8])
        head = (f"{'symmetry':<{width}}  {'kind':<11}" + "".join(f"{d:>10}" for d in self.dtypes)
                + "   verdict")
        lines = [f"audit of {self.model}", head]
        for r in self.rows:
            lines.append(f"{r.symmetry:<{width}}  {r.kind:<11}"
                         + "".join(f"{r.errors[d]:>10.0e}" for d in self.dtypes)
                         + f"   {r.verdict}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        cells = "".join(f"<th>{d} error</th>" for d in self.dtypes)
        body = "".join(
            f"<tr><td>{html.escape(r.symmetry)}</td><td>{r.kind}</td>"
            + "".join(f"<td>{r.errors[d]:.0e}</td>" for d in self.dtypes)
            + f"<td>{_MARK[r.verdict]} {r.verdict}</td></tr>" for r in self.rows)
        return (f"<table><caption>audit of {html.escape(self.model)}</caption><thead><tr><th>symmetry</th>"
                f"<th>kind</th>{cells}<th>verdict</th></tr></thead><tbody>{body}</tbody></table>")


_MARK = {"exact": "✓", "approximate": "≈", "broken": "✗"}


def audit(model: Callable[..., Any], x: Any, symmetries: Sequence[Symmetry], *,
          dtypes: Sequence[torch.dtype] = (torch.float32, torch.float64), name: str | None = None,
          call: Call | None = None, samples: int = 8) -> Audit:
    """Measure ``model``'s error for each symmetry on input ``x``, in each dtype (module docstring).

    ``model`` is an ``nn.Module`` (deep-copied, cast to each dtype, moved to the input's device and put
    in eval mode; the original is untouched) or a plain function (called on the cast input).
    ``call(model, x)`` says how to apply it when that is not ``model(x)``: e.g.
    ``lambda m, inputs: m(*inputs)`` for a model of several arguments (then ``x`` is their tuple); a
    row's own ``Symmetry.call`` takes precedence. Raises ``ValueError`` for an empty symmetry list,
    repeated names, or an action that does not fit the input (with the action's message).
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
    device = _device_of(x)
    for dtype in dtypes:
        m = model
        if isinstance(model, nn.Module):
            m = copy.deepcopy(model).to(device=device, dtype=dtype).eval()
        xd = cast_floats(x, dtype)
        key = str(dtype).removeprefix("torch.")
        with torch.no_grad():
            for s, row in zip(symmetries, rows):
                how = s.call if s.call is not None else call
                f = m if how is None else functools.partial(how, m)   # f(inputs) = how(model, inputs)
                result = equivariance_error(f, xd, s.act_in, s.act_out, elements=s.elements, samples=samples)
                row.errors[key] = result.max
                row.verdicts[key] = result.verdict
    return Audit(label, [str(d).removeprefix("torch.") for d in dtypes], rows)


def _device_of(x: Any) -> torch.device | None:
    """The device of the first tensor in ``x`` (a tensor, a tuple/list, or a graph), else ``None``."""
    if isinstance(x, torch.Tensor):
        return x.device
    if isinstance(x, (tuple, list)):
        return next((d for d in map(_device_of, x) if d is not None), None)
    if hasattr(x, "edge_index"):                                  # a torch_geometric Data
        return next((v.device for _, v in x.items() if isinstance(v, torch.Tensor)), None)
    return None
