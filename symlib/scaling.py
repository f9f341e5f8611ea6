"""Compute scaling: test loss against training FLOPs, the compute-optimal frontier, power-law fits.

A training run evaluated along the way gives points ``(C_k, L_k)``: ``C_k`` FLOPs spent (steps ×
:func:`symlib.train.step_flops`) and the test loss reached. For a *family* of runs (one model
architecture at several sizes), the **compute-optimal frontier** at a budget ``C`` is the lowest
loss any run of the family has reached with at most ``C`` FLOPs:

.. math::  L^*(C) = \\min_{\\text{runs } r} \\; \\min_{k:\\, C_{r,k} \\le C} L_{r,k}.

Scaling studies (Kaplan et al. 2020; Brehmer et al. 2024) fit a power law to it,

.. math::  L^*(C) \\approx a\\, C^{-b}, \\qquad \\log L = \\log a - b \\log C,

by least squares in log–log space; :func:`fit_power_law` also returns the standard errors of
``log a`` and ``b``. Two families' fitted laws give a loss ratio at equal compute,
``(a_1/a_2)\\, C^{-(b_1 - b_2)}``: constant if the exponents agree, shrinking or growing otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PowerLaw", "fit_power_law", "frontier"]


@dataclass(frozen=True)
class PowerLaw:
    """``L = a · C^(-b)``, fitted in log space. ``log_a_err`` and ``b_err`` are standard errors
    (NaN with only two points); ``r2`` is the coefficient of determination of the log–log fit."""

    a: float
    b: float
    log_a_err: float
    b_err: float
    r2: float
    points: int

    def __call__(self, compute: float | np.ndarray) -> float | np.ndarray:
        return self.a * np.power(compute, -self.b)

    def ratio(self, other: PowerLaw, compute: float | np.ndarray) -> float | np.ndarray:
        """``self(C) / other(C)``: e.g. a baseline's loss over an equivariant model's."""
        return self(compute) / other(compute)

    def __str__(self) -> str:
        return (f"L = {self.a:.3g} · C^(-{self.b:.3f} ± {self.b_err:.3f})  "
                f"(R² {self.r2:.3f}, {self.points} points)")


def fit_power_law(compute: Sequence[float] | np.ndarray, loss: Sequence[float] | np.ndarray) -> PowerLaw:
    """Least-squares fit of ``log L = log a - b log C``.

    Raises:
        ValueError: fewer than two points, shapes differ, or a value is not positive and finite.
    """
    c, l_ = np.asarray(compute, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    if c.shape != l_.shape or c.ndim != 1:
        raise ValueError(f"compute and loss must be 1-D of one length, got shapes {c.shape} and {l_.shape}")
    if len(c) < 2:
        raise ValueError(f"a power-law fit needs at least 2 points, got {len(c)}")
    if not (np.isfinite(c).all() and np.isfinite(l_).all() and (c > 0).all() and (l_ > 0).all()):
        raise ValueError("compute and loss must be positive and finite (they are fitted in log space)")
    x, y = np.log(c), np.log(l_)
    design = np.stack([np.ones_like(x), x], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    dof = len(x) - 2
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else 1.0
    if dof > 0:
        cov = np.linalg.inv(design.T @ design) * float((residual**2).sum()) / dof
        log_a_err, b_err = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1])
    else:
        log_a_err = b_err = math.nan
    return PowerLaw(a=math.exp(coef[0]), b=-float(coef[1]), log_a_err=log_a_err, b_err=b_err, r2=r2,
                    points=len(x))


def frontier(runs: Sequence[tuple[Sequence[float], Sequence[float]]],
             budgets: Sequence[float] | np.ndarray) -> np.ndarray:
    """The compute-optimal frontier ``L*(C)`` of a family of runs at each budget (module docstring).

    Args:
        runs: one ``(compute, loss)`` pair of equal-length sequences per run, compute increasing.
        budgets: FLOP budgets ``C``.

    Returns:
        ``[len(budgets)]`` lowest losses; NaN where no run has an evaluation within the budget.
    """
    best = np.full(len(budgets), np.nan)
    for compute, loss in runs:
        c, l_ = np.asarray(compute, dtype=np.float64), np.asarray(loss, dtype=np.float64)
        if c.shape != l_.shape or c.ndim != 1 or len(c) == 0:
            raise ValueError(f"each run needs compute and loss of one length, got {c.shape} and {l_.shape}")
        if (np.diff(c) <= 0).any():
            raise ValueError("a run's compute must be strictly increasing")
        so_far = np.minimum.accumulate(l_)                      # best loss after k evaluations
        k = np.searchsorted(c, np.asarray(budgets, dtype=np.float64), side="right") - 1
        reached = np.where(k >= 0, so_far[np.clip(k, 0, None)], np.nan)
        best = np.fmin(best, reached)
    return best
