"""Shared assertions for the tests (in the style of e3nn's ``assert_equivariant``).

Every bound comes from the one tolerance policy of :mod:`symlib.equivariance`: an exactly equivariant
function passes within :func:`~symlib.equivariance.tolerance` of the dtype computed in
(``factor=1``), a broken one misses by more than :func:`~symlib.equivariance.broken`. A test that
needs more slack passes one of the named factors below, never a bare number, so that each
loosening is stated once, with its reason.
The ``dtype`` fixture (float32 and float64) is in ``tests/conftest.py``.

Test modules import this file as ``helpers``: pytest puts ``tests/`` on ``sys.path`` (it has no
``__init__.py``), as for ``ddp_problem``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symlib.equivariance import (
    EquivarianceResult,
    broken,
    equivariance_error,
    invariance_error,
    relative_error,
    tolerance,
)
from symlib.groups import Action

#: slack for deep stacks (EGNN, the atom scorer), where rounding compounds from layer to layer
DEEP_STACK_FACTOR = 10


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _above(factor: float, dtype: torch.dtype) -> str:
    """The failure message's end: the bound, and how it was set (a NaN error fails every bound)."""
    bound = factor * tolerance(dtype)
    return f"not within the bound {bound:.1e} = {factor:g} × tolerance({_dtype_name(dtype)})"


def _check(result: EquivarianceResult, what: str, dtype: torch.dtype | None, factor: float) -> None:
    if dtype is not None:
        assert result.dtype == dtype, (
            f"{what}: the output is {_dtype_name(result.dtype)}, expected {_dtype_name(dtype)}")
    assert result.max <= factor * tolerance(result.dtype), f"{what}: {result}, {_above(factor, result.dtype)}"


def assert_equivariant(f: Callable[[Any], Any], x: Any, act_in: Action, act_out: Action | None = None, *,
                       dtype: torch.dtype | None = None, factor: float = 1.0,
                       **kwargs: Any) -> EquivarianceResult:
    """Assert ``max_g ‖f(g·x) − g·f(x)‖ / ‖g·f(x)‖ ≤ factor · tolerance(output dtype)``.

    Args:
        f, x, act_in, act_out: as for :func:`~symlib.equivariance.equivariance_error` (``act_out``
            defaults to ``act_in``).
        dtype: when given, the dtype ``f``'s output must have (so a layer cannot pass by silently
            computing in another precision).
        factor: the multiple of the tolerance allowed; use a named factor of this module.
        kwargs: passed on to ``equivariance_error`` (``elements``, ``samples``, ``hom``, ...).

    Returns:
        The measurement, for further checks (``exhaustive``, the number of elements, ...).
    """
    result = equivariance_error(f, x, act_in, act_out, **kwargs)
    out = act_in if act_out is None else act_out
    _check(result, f"equivariance under {act_in!r} → {out!r}", dtype, factor)
    return result


def assert_invariant(f: Callable[[Any], Any], x: Any, act: Action, *, dtype: torch.dtype | None = None,
                     factor: float = 1.0, **kwargs: Any) -> EquivarianceResult:
    """Assert ``max_g ‖f(g·x) − f(x)‖ / ‖f(x)‖ ≤ factor · tolerance(output dtype)``; arguments as
    for :func:`assert_equivariant`."""
    result = invariance_error(f, x, act, **kwargs)
    _check(result, f"invariance under {act!r}", dtype, factor)
    return result


def assert_broken(result: EquivarianceResult) -> None:
    """Assert that a measured function misses its symmetry by more than
    :func:`symlib.equivariance.broken` of its dtype (the book's one "broken" level, ``BROKEN``)."""
    assert result.verdict == "broken", (f"expected a broken symmetry (error above "
                                        f"{broken(result.dtype):.0e}), but {result}")


def assert_matches(actual: Any, expected: Any, *, dtype: torch.dtype | None = None,
                   factor: float = 1.0) -> None:
    """Assert ``‖actual − expected‖ / ‖expected‖ ≤ factor · tolerance(dtype)`` (tensors or tuples).

    ``dtype`` defaults to the dtype of ``actual`` (which must then be a tensor): the precision the
    tested code computed in, as ``expected`` is often an oracle computed in float64.
    """
    if dtype is None:
        if not isinstance(actual, Tensor):
            raise TypeError("pass dtype= when actual is not a tensor")
        dtype = actual.dtype
    error = relative_error(actual, expected)
    assert error <= factor * tolerance(dtype), f"relative error {error:.1e}, {_above(factor, dtype)}"
