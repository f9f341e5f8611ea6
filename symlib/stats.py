"""Results over seeds: mean ± standard error, and the rule every comparison in the book obeys.

A number that depends on training is measured on several independent runs (seeds) and reported as
the mean ± the standard error of the mean, ``se = s / √n`` with ``s`` the sample standard deviation
(``ddof = 1``). A comparison the prose states — "A is higher than B" — is claimed only when the
difference of the means clears twice its standard error,

    mean(A) − mean(B) > by + 2 · √(se(A)² + se(B)²),

with at least :data:`MIN_SEEDS` runs on each side (the two sides are treated as independent, the
conservative choice when runs share seeds). Otherwise the book says the difference is not resolved.
Losses and errors, which differ by factors, are compared on a log scale with :func:`exceeds_ratio`::

    cnn, mlp = estimate(cnn_accs), estimate(mlp_accs)          # one value per seed
    print(f"CNN {cnn:.1%}, MLP {mlp:.1%}")                    # "CNN 86.9% ± 0.5%, MLP 61.6% ± 0.7%"
    claims.check("the CNN beats the MLP by more than 15 points", exceeds(cnn, mlp, by=0.15))
    claims.check("the GNN's error is more than twice the EGNN's", exceeds_ratio(gnn, egnn, 2))
    claims.check("the CNN is above 80%", cnn.above(0.80))           # one estimate against a number
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_SEEDS", "Comparison", "Estimate", "compare", "estimate", "exceeds", "exceeds_ratio"]

MIN_SEEDS = 3
"""The fewest runs per side on which a comparison may be claimed."""


@dataclass(frozen=True)
class Estimate:
    """One quantity measured on ``n`` independent runs.

    Attributes:
        values: the per-run values, in seed order.

    ``format(e, ".1%")`` gives ``"86.9% ± 0.5%"``: the format spec applies to the mean and the standard
    error alike.
    """

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.values) < 2:
            raise ValueError("an estimate needs at least 2 runs for a standard error, "
                             f"got {len(self.values)}")
        if not all(math.isfinite(v) for v in self.values):
            raise ValueError(f"every run's value must be finite, got {self.values}")

    @property
    def n(self) -> int:
        """Number of runs."""
        return len(self.values)

    @property
    def mean(self) -> float:
        """Mean over the runs."""
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        """Sample standard deviation over the runs (``ddof = 1``)."""
        return float(np.std(self.values, ddof=1))

    @property
    def se(self) -> float:
        """Standard error of the mean, ``std / √n``."""
        return self.std / math.sqrt(self.n)

    def log(self) -> Estimate:
        """The same runs on a log scale (every value must be positive): for losses and errors."""
        if min(self.values) <= 0:
            raise ValueError(f"a log scale needs positive values, got {self.values}")
        return Estimate(tuple(math.log(v) for v in self.values))

    def above(self, bound: float, sigmas: float = 2.0) -> bool:
        """Whether ``mean − sigmas · se > bound``, with at least :data:`MIN_SEEDS` runs."""
        return self.n >= MIN_SEEDS and self.mean - sigmas * self.se > bound

    def below(self, bound: float, sigmas: float = 2.0) -> bool:
        """Whether ``mean + sigmas · se < bound``, with at least :data:`MIN_SEEDS` runs."""
        return self.n >= MIN_SEEDS and self.mean + sigmas * self.se < bound

    def within(self, target: float, tol: float, sigmas: float = 2.0) -> bool:
        """Whether ``mean ± sigmas · se`` lies inside ``target ± tol`` (at least :data:`MIN_SEEDS` runs)."""
        return self.n >= MIN_SEEDS and abs(self.mean - target) + sigmas * self.se < tol

    def __format__(self, spec: str) -> str:
        return f"{self.mean:{spec}} ± {self.se:{spec}}"

    def __str__(self) -> str:
        return format(self, ".4g")


def estimate(values: Iterable[float]) -> Estimate:
    """An :class:`Estimate` from one value per run (floats, numpy scalars or 0-d tensors)."""
    return Estimate(tuple(float(v) for v in values))


@dataclass(frozen=True)
class Comparison:
    """``A − B`` for two independent estimates: ``diff ± se`` with ``se = √(se_A² + se_B²)``.

    On a log scale (``compare(a, b, log=True)``) ``diff`` is ``log(mean ratio)`` in the geometric sense,
    and :attr:`ratio` is ``exp(diff)``.
    """

    diff: float
    se: float
    n: int
    log: bool = False

    @property
    def ratio(self) -> float:
        """``exp(diff)``: the geometric-mean ratio A / B (log-scale comparisons only)."""
        if not self.log:
            raise ValueError("ratio is defined for log-scale comparisons: compare(a, b, log=True)")
        return math.exp(self.diff)

    def exceeds(self, by: float = 0.0, sigmas: float = 2.0) -> bool:
        """Whether ``diff > by + sigmas · se``, with at least :data:`MIN_SEEDS` runs per side."""
        return self.n >= MIN_SEEDS and self.diff > by + sigmas * self.se

    def resolved(self, sigmas: float = 2.0) -> bool:
        """Whether ``|diff| > sigmas · se``: the sign of the difference is established."""
        return self.n >= MIN_SEEDS and abs(self.diff) > sigmas * self.se

    def __format__(self, spec: str) -> str:
        if self.log:
            return f"ratio {self.ratio:{spec or '.3g'}} (log-ratio {self.diff:.3f} ± {self.se:.3f})"
        return f"{self.diff:{spec}} ± {self.se:{spec}}"

    def __str__(self) -> str:
        return format(self, "")


def compare(a: Estimate, b: Estimate, *, log: bool = False) -> Comparison:
    """``A − B`` (or ``log A − log B`` with ``log``) with its standard error; ``n``: the smaller run count."""
    if not isinstance(a, Estimate) or not isinstance(b, Estimate):
        raise TypeError(f"compare takes two Estimates, got {type(a).__name__} and {type(b).__name__}")
    if log:
        a, b = a.log(), b.log()
    return Comparison(a.mean - b.mean, math.hypot(a.se, b.se), min(a.n, b.n), log)


def exceeds(a: Estimate, b: Estimate, *, by: float = 0.0, sigmas: float = 2.0) -> bool:
    """Whether ``mean(A) − mean(B) > by + sigmas · se(A − B)``, with ≥ :data:`MIN_SEEDS` runs per side."""
    return compare(a, b).exceeds(by, sigmas)


def exceeds_ratio(a: Estimate, b: Estimate, factor: float = 1.0, *, sigmas: float = 2.0) -> bool:
    """Whether A is more than ``factor`` times B on a log scale: ``mean(log A) − mean(log B) >
    log(factor) + sigmas · se``, with ≥ :data:`MIN_SEEDS` runs per side (A and B positive)."""
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor}")
    return compare(a, b, log=True).exceeds(math.log(factor), sigmas)
