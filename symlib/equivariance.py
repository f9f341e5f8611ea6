"""Measure how far a function is from equivariance: compare ``f(g·x)`` with ``g·f(x)``.

For an input action ``ρ_in`` and an output action ``ρ_out`` of the same group, ``f`` is
*equivariant* when ``f(ρ_in(g) x) = ρ_out(g) f(x)`` for every ``g``, and *invariant* when
``ρ_out`` is trivial: ``f(ρ_in(g) x) = f(x)``. We report the relative error

.. math::  e(g) = \\frac{\\lVert f(g·x) - g·f(x) \\rVert}{\\lVert g·f(x) \\rVert}

computed in float64 (inputs are transformed in float64, then cast to the input's dtype; outputs are
compared in float64), over all elements of a small finite group, or over seeded random samples.
An exactly equivariant float32 layer shows rounding noise of order ``1e-7``.

**One tolerance policy**, used by :func:`symlib.audit.audit`, the chapters and the tests alike: an
error in a computation of dtype ``d`` is

* *exact* (the symmetry holds; what is left is rounding) when it is at most :func:`tolerance` ``(d)``
  (:data:`EXACT64` = 1e-12, :data:`EXACT32` = 1e-5);
* *broken* when it exceeds :func:`broken` ``(d)``: :data:`BROKEN` = 1e-3 in float32 and float64, ten
  times the tolerance in the half precisions, whose rounding reaches that level;
* *approximate* in between: more than rounding, too little to call the symmetry absent (a deep
  float32 stack, a learned but imperfect invariance).

:func:`verdict` names the class. No chapter or test keeps a threshold of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from symlib.groups import Action, Element, Trivial

__all__ = ["BROKEN", "EXACT32", "EXACT64", "TOLERANCES", "EquivarianceResult", "Verdict", "broken",
           "cast_floats", "equation_sides", "equivariance_error", "invariance_error", "relative_error",
           "tolerance", "verdict"]

#: Relative errors at or below these count as exact for a computation in the given dtype.
TOLERANCES: dict[torch.dtype, float] = {
    torch.float64: 1e-12,
    torch.float32: 1e-5,
    torch.float16: 5e-3,
    torch.bfloat16: 3e-2,
}
#: float64 rounding: a relative error at or below this is exact
EXACT64: float = TOLERANCES[torch.float64]
#: float32 rounding: a relative error at or below this is exact
EXACT32: float = TOLERANCES[torch.float32]
#: a relative error above this (in float32 or float64) is no rounding: the symmetry is broken
BROKEN: float = 1e-3

#: the three classes of :func:`verdict`
Verdict = Literal["exact", "approximate", "broken"]


def tolerance(dtype: torch.dtype) -> float:
    """The relative error at or below which a computation in ``dtype`` counts as exactly equivariant."""
    if dtype not in TOLERANCES:
        raise ValueError(f"no equivariance tolerance for dtype {dtype}; floating dtypes only")
    return TOLERANCES[dtype]


def broken(dtype: torch.dtype) -> float:
    """The relative error above which a symmetry counts as broken in ``dtype``: ``max(BROKEN, 10 ·
    tolerance(dtype))`` (1e-3 in float32 and float64; above the half precisions' rounding)."""
    return max(BROKEN, 10 * tolerance(dtype))


def verdict(error: float, dtype: torch.dtype) -> Verdict:
    """``"exact"`` (≤ :func:`tolerance`), ``"broken"`` (> :func:`broken`, or NaN) or ``"approximate"``
    for a relative ``error`` measured in ``dtype``: the book's one tolerance policy."""
    if math.isnan(error) or error > broken(dtype):
        return "broken"
    return "exact" if error <= tolerance(dtype) else "approximate"


def _is_graph(obj: Any) -> bool:
    return hasattr(obj, "edge_index") and hasattr(obj, "apply")  # torch_geometric Data


def _float_tensors(obj: Any) -> list[Tensor]:
    """The floating tensors inside a tensor, a tuple/list, or a torch_geometric Data."""
    if isinstance(obj, Tensor):
        return [obj] if obj.is_floating_point() else []
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _float_tensors(o)]
    if _is_graph(obj):
        return [v for _, v in obj.items() if isinstance(v, Tensor) and v.is_floating_point()]
    raise TypeError(f"expected a tensor, a tuple of tensors or a graph, got {type(obj).__name__}")


def cast_floats(obj: Any, dtype: torch.dtype) -> Any:
    """``obj`` (a tensor, a tuple/list of them, or a torch_geometric ``Data``) with every floating
    tensor cast to ``dtype``; graphs are cloned, integer tensors (labels, ``edge_index``) kept."""
    if isinstance(obj, Tensor):
        return obj.to(dtype) if obj.is_floating_point() else obj
    if isinstance(obj, (tuple, list)):
        return type(obj)(cast_floats(o, dtype) for o in obj)
    if _is_graph(obj):
        return obj.clone().apply(lambda t: t.to(dtype) if t.is_floating_point() else t)
    return obj


def _cast_like(y: Any, x: Any) -> Any:
    """Cast every floating tensor of ``y`` to the dtype of its counterpart in ``x`` (same structure)."""
    if isinstance(y, Tensor):
        return y.to(x.dtype) if y.is_floating_point() else y
    if isinstance(y, (tuple, list)):
        return type(y)(_cast_like(a, b) for a, b in zip(y, x))
    if _is_graph(y):
        for key, value in y.items():
            if isinstance(value, Tensor) and value.is_floating_point():
                y[key] = value.to(x[key].dtype)
    return y


def relative_error(a: Any, b: Any) -> float:
    """``‖a − b‖ / ‖b‖`` in float64 over all floating tensors of ``a`` and ``b`` (tensors or tuples).

    Returns the absolute error ``‖a − b‖`` when ``b`` is zero.
    """
    ta, tb = _float_tensors(a), _float_tensors(b)
    if len(ta) != len(tb) or any(x.shape != y.shape for x, y in zip(ta, tb)):
        raise ValueError(f"cannot compare outputs of shapes {[tuple(t.shape) for t in ta]} "
                         f"and {[tuple(t.shape) for t in tb]}")
    diff = sum(float(((x.detach().double() - y.detach().double()) ** 2).sum()) for x, y in zip(ta, tb)) ** 0.5
    norm = sum(float((y.detach().double() ** 2).sum()) for y in tb) ** 0.5
    return diff / norm if norm > 0 else diff


def equation_sides(f: Callable[[Any], Any], x: Any, act_in: Action, act_out: Action,
                   g_in: Element, g_out: Element | None = None) -> tuple[Any, Any]:
    """The two sides of the equivariance equation for one element: ``(f(g·x), g·f(x))``, the second
    in float64.

    ``g·x`` is computed in float64 and cast back to the input's dtypes. The difference of the two is
    where equivariance fails: for a convolution with zero padding it lives near the border.
    ``g_out`` (the element acting on the output) defaults to ``g_in``.
    """
    act_in.check(x)
    with torch.no_grad():
        fx = f(x)
        f_gx = f(_cast_like(act_in.act(g_in, cast_floats(x, torch.float64)), x))
    g_fx = act_out.act(g_in if g_out is None else g_out, cast_floats(fx, torch.float64))
    return f_gx, g_fx


@dataclass(frozen=True)
class EquivarianceResult:
    """Relative errors ``e(g)`` of one function, one input, over the tested group elements.

    Attributes:
        errors: one relative error per tested element.
        dtype: the dtype of ``f``'s output, which sets the tolerance.
        exhaustive: whether every element of a finite group was tested.
        chosen: whether the caller chose the elements (else all of them, or a seeded random sample).
    """

    errors: tuple[float, ...]
    dtype: torch.dtype
    exhaustive: bool
    chosen: bool = False

    @property
    def max(self) -> float:
        """The largest error; NaN if any error is NaN (a NaN must never pass as "equivariant")."""
        return math.nan if any(math.isnan(e) for e in self.errors) else max(self.errors)

    @property
    def tol(self) -> float:
        return tolerance(self.dtype)

    @property
    def holds(self) -> bool:
        """Whether the largest error is within the dtype's tolerance."""
        return self.max <= self.tol

    @property
    def verdict(self) -> Verdict:
        """:func:`verdict` of the largest error: ``"exact"``, ``"approximate"`` or ``"broken"``."""
        return verdict(self.max, self.dtype)

    def __float__(self) -> float:
        return self.max

    def __str__(self) -> str:
        n = len(self.errors)
        which = f"all {n}" if self.exhaustive else f"{n} chosen" if self.chosen else f"{n} sampled"
        dt = str(self.dtype).removeprefix("torch.")
        return f"max relative error {self.max:.1e} over {which} elements ({dt})"


def equivariance_error(f: Callable[[Any], Any], x: Any, act_in: Action, act_out: Action | None = None, *,
                       elements: Sequence[Element] | None = None, samples: int = 8,
                       generator: torch.Generator | None = None,
                       hom: Callable[[Element], Element] | None = None,
                       exhaustive_limit: int = 64) -> EquivarianceResult:
    """Measure ``max_g ‖f(g·x) − g·f(x)‖ / ‖g·f(x)‖``.

    Args:
        f: the function or module; takes what ``act_in`` acts on, returns a tensor or tuple of tensors.
        x: the input, e.g. ``[batch, channels, h, w]`` for images, a ``Data`` for graphs.
        act_in: how the group acts on inputs.
        act_out: how it acts on outputs; default ``act_in``; :class:`~symlib.groups.Trivial` for invariance.
        elements: the elements to test; default all elements when the group has at most
            ``exhaustive_limit`` of them, else ``samples`` random ones.
        generator: random stream for sampling; default a generator seeded with 0 (reproducible).
        hom: maps an input element to the output element, when the output is acted on by a different
            group (e.g. a stride-2 layer: input shift ``2k`` ↔ output shift ``k``).

    Raises:
        ValueError: the actions belong to different groups (and no ``hom`` is given), or an action
            does not fit the input or the output.
    """
    act_out = act_in if act_out is None else act_out
    if hom is None and act_out.group is not None and act_out.group != act_in.group:
        raise ValueError(f"input action {act_in!r} (group {act_in.group}) and output action {act_out!r} "
                         f"(group {act_out.group}) are actions of different groups; pass hom= to map "
                         "input elements to output elements")
    exhaustive, chosen = False, elements is not None
    if elements is None:
        everything = act_in.elements()
        if everything is not None and len(everything) <= exhaustive_limit:
            elements, exhaustive = everything, True
        else:
            gen = generator if generator is not None else torch.Generator().manual_seed(0)
            elements = [act_in.sample(gen) for _ in range(samples)]
    if len(elements) == 0:
        raise ValueError("no group elements to test")
    errors, dtype = [], None
    for g in elements:
        f_gx, g_fx = equation_sides(f, x, act_in, act_out, g, hom(g) if hom is not None else None)
        if dtype is None:
            outputs = _float_tensors(f_gx)
            if not outputs:
                raise TypeError("f returned no floating-point tensor: equivariance is measured on "
                                "floating outputs (compare integer outputs such as labels exactly, "
                                "or measure the logits they come from)")
            dtype = outputs[0].dtype
        errors.append(relative_error(f_gx, g_fx))
    return EquivarianceResult(tuple(errors), dtype, exhaustive, chosen)


def invariance_error(f: Callable[[Any], Any], x: Any, act: Action, **kwargs: Any) -> EquivarianceResult:
    """Measure ``max_g ‖f(g·x) − f(x)‖ / ‖f(x)‖``: equivariance with a trivial output action."""
    return equivariance_error(f, x, act, Trivial(), **kwargs)
