"""Results over seeds: mean ± standard error, and the test that decides every comparison.

A number that depends on training is measured on several independent runs (seeds) and reported as
the mean ± the standard error of the mean, ``se = s / √n`` with ``s`` the sample standard deviation
(``ddof = 1``)::

    cnn, mlp = estimate(cnn_accs), estimate(mlp_accs)          # one value per seed
    print(f"CNN {cnn:.1%}, MLP {mlp:.1%}")                    # "CNN 86.9% ± 0.5%, MLP 61.6% ± 0.7%"

**The declared test.** A finding — "A differs from B", "A beats B by more than 0.15" — is decided by
Welch's two-sample t test (unequal variances, Welch–Satterthwaite degrees of freedom), two-sided at
5%: it is *resolved* exactly when the 95% confidence interval of the difference excludes zero (of
``log A − log B`` for losses and errors, which differ by factors; against a fixed number, the
one-sample t interval). Every finding prints its effect, interval, ``n`` per arm and ``p``::

    test = welch(cnn, mlp)           # "+0.253 [95% CI +0.248, +0.257], n = 8/8, p = 1.6e-21: resolved"
    claims.finding("the CNN beats the MLP by more than 15 points", test.above(0.15), test)
    welch(gnn, egnn, log=True).above(math.log(2))                 # more than twice the EGNN's error
    one_sample(cnn, 0.80).above()                                  # above 80%
    one_sample(acc, cap).within(0.02)                              # within 0.02 of the cap

**Agreeing with a paper.** A published number is usually one run. :func:`prediction` asks whether it
is a plausible single run of our setup: it lies inside the 95% *prediction* interval for one more run,
``mean ± t₀.₉₇₅,ₙ₋₁ · s · √(1 + 1/n)`` (widened by two test sets' sampling error where the paper's test
set is not ours). It is the one rule the Reproductions page and the chapters' full-scale claims use::

    prediction(acc, 0.94).agrees        # is the published 94% a plausible run of ours?

The t distribution is computed here (the regularised incomplete beta function by its continued
fraction), tested against tabulated quantiles and scipy. Figures show the 95% interval of the mean
(:attr:`Estimate.interval`), not ±1 SE.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["CONFIDENCE", "Estimate", "Test", "estimate", "geometric", "one_sample", "prediction", "t_cdf",
           "t_quantile", "welch"]

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

    @property
    def half_width(self) -> float:
        """Half the 95% confidence interval of the mean, ``t₀.₉₇₅,ₙ₋₁ · se``: the error bar a figure
        shows (DESIGN: the interval, not ±1 SE)."""
        return t_quantile(0.5 + CONFIDENCE / 2, self.n - 1) * self.se

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% confidence interval of the mean, ``mean ± half_width``."""
        return self.mean - self.half_width, self.mean + self.half_width

    def log(self) -> Estimate:
        """The same runs on a log scale (every value must be positive): for losses and errors."""
        if min(self.values) <= 0:
            raise ValueError(f"a log scale needs positive values, got {self.values}")
        return Estimate(tuple(math.log(v) for v in self.values))

    def __format__(self, spec: str) -> str:
        return f"{self.mean:{spec}} ± {self.se:{spec}}"

    def __str__(self) -> str:
        return format(self, ".4g")


def geometric(estimates: Iterable[Estimate]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a figure of errors or losses (positive, compared on logs): per estimate, the geometric mean
    over the runs and its 95% interval (the t interval of the logs, exponentiated), as three arrays
    ``(centre, low, high)``."""
    logs = [e.log() for e in estimates]
    low, high = np.exp(np.array([g.interval for g in logs]).reshape(-1, 2)).T
    return np.exp([g.mean for g in logs]), low, high


def estimate(values: Iterable[float]) -> Estimate:
    """An :class:`Estimate` from one value per run (floats, numpy scalars or 0-d tensors)."""
    return Estimate(tuple(float(v) for v in values))


# --------------------------------------------------------------------------------------------------
# The declared test: Welch's t, two-sided at 5%, decided by the 95% confidence interval


#: The confidence level of every interval: a finding is *resolved* when its 95% interval excludes zero
#: (a two-sided test at 5%).
CONFIDENCE = 0.95


def _incomplete_beta(x: float, a: float, b: float, rest: float | None = None) -> float:
    """The regularised incomplete beta function ``I_x(a, b)``, by its continued fraction (evaluated
    by the modified Lentz method), with ``I_x(a, b) = 1 − I_{1−x}(b, a)`` where that converges faster.
    ``rest`` is ``1 − x`` when the caller knows it more accurately than ``1 − x`` rounds."""
    rest = 1.0 - x if rest is None else rest
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1], got {x}")
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _incomplete_beta(rest, b, a, x)
    if x == 0.0 or rest == 0.0:
        return 0.0 if x == 0.0 else 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log(rest))
    tiny = 1e-300

    def guard(v: float) -> float:
        return v if abs(v) > tiny else tiny

    c, d = 1.0, 1.0 / guard(1.0 - (a + b) * x / (a + 1))
    h = d
    for m in range(1, 500):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d, c = 1.0 / guard(1.0 + even * d), guard(1.0 + even / c)
        h *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d, c = 1.0 / guard(1.0 + odd * d), guard(1.0 + odd / c)
        h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return front * h / a


#: Above this many degrees of freedom Student's t is computed as the normal distribution: they differ by
#: less than 1e-8 there, and the continued fraction loses its accuracy for ever larger ``df``.
_NORMAL_DF = 1e8


def _t_tail(x: float, df: float) -> float:
    """``P(T > |x|)``, accurate also far in the tail (no ``1 − cdf`` cancellation)."""
    if not df > 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if math.isinf(x):
        return 0.0
    if df > _NORMAL_DF:                            # the normal limit (and df = inf)
        return 0.5 * math.erfc(abs(x) / math.sqrt(2.0))
    return 0.5 * _incomplete_beta(df / (df + x * x), df / 2, 0.5, x * x / (df + x * x))


def t_cdf(x: float, df: float) -> float:
    """``P(T ≤ x)`` for Student's t with ``df > 0`` degrees of freedom (not necessarily an integer;
    ``math.inf`` gives the normal distribution)."""
    tail = _t_tail(x, df)
    return 1.0 - tail if x > 0 else tail


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (``t_cdf(t_quantile(q, df), df)
    = q``), by bisection to double precision: e.g. ``t_quantile(0.975, 4) = 2.776…``."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < q:
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if t_cdf(mid, df) < q else (lo, mid)
    return (lo + hi) / 2


@dataclass(frozen=True)
class Test:
    """The outcome of the book's one declared test: an ``effect`` with its 95% confidence interval
    ``[low, high]`` (Student's t with ``df`` degrees of freedom), the t statistic and the two-sided
    ``p``. ``n`` holds the number of runs per arm. With ``log`` the effect is a log-ratio and
    :attr:`ratio` (with :attr:`ratio_interval`) reads it as a factor.

    :attr:`resolved` — the interval excludes zero — is the only verdict: "A differs from B". A test
    made by :func:`prediction` holds a 95% *prediction* interval instead (printed "95% PI"), and its
    verdict reads :attr:`agrees` (the interval contains zero) or "disagrees".
    :meth:`above` / :meth:`below` ask whether the whole interval lies past a margin (e.g. "A beats B
    by more than 0.2": ``welch(a, b).above(0.2)``). For a claim of *equivalence* ("A is within 0.02
    of the cap") :meth:`within` gives the same test with a ``margin``: then :attr:`resolved` means
    the whole interval lies inside ``(−margin, margin)`` (two one-sided tests, each at 2.5%), ``p`` is
    the larger of their two p values, and the printed verdict says so.
    """

    effect: float
    low: float
    high: float
    df: float
    t: float
    p: float
    n: tuple[int, ...]
    log: bool = False
    margin: float | None = None
    prediction: bool = False

    @property
    def resolved(self) -> bool:
        """Whether the 95% interval excludes zero (two-sided test at 5%); for an equivalence test
        (:meth:`within`), whether it lies inside ``(−margin, margin)``."""
        if self.margin is not None:
            return -self.margin < self.low and self.high < self.margin
        return self.low > 0 or self.high < 0

    @property
    def agrees(self) -> bool:
        """For a :func:`prediction` test: whether the value is a plausible single run of our setup
        (its 95% prediction interval contains zero difference)."""
        if not self.prediction:
            raise ValueError("agrees is the verdict of a prediction test: stats.prediction(a, value)")
        return not self.resolved

    def within(self, margin: float) -> Test:
        """The same test read as equivalence: resolved when the whole 95% interval lies inside
        ``(−margin, margin)`` (on the log scale for ``log`` tests: a ratio within ``exp(±margin)``)."""
        if not margin > 0:
            raise ValueError(f"an equivalence margin must be positive, got {margin}")
        if self.prediction:
            raise ValueError("a prediction test has no equivalence reading")
        return dataclasses.replace(self, margin=float(margin), p=self._equivalence_p(margin))

    def _equivalence_p(self, margin: float) -> float:
        """The p of the two one-sided tests (effect ≤ −margin, effect ≥ margin), the larger of the
        two: below 2.5% exactly when the 95% interval lies inside ``(−margin, margin)``."""
        se = (self.high - self.low) / (2 * t_quantile(0.5 + CONFIDENCE / 2, self.df))
        if se == 0.0:
            return 0.0 if -margin < self.effect < margin else 1.0

        def above(t: float) -> float:                       # P(T > t), one-sided
            return _t_tail(t, self.df) if t > 0 else 1.0 - _t_tail(t, self.df)

        return max(above((self.effect + margin) / se), above((margin - self.effect) / se))

    def above(self, margin: float = 0.0) -> bool:
        """Whether the whole 95% interval lies above ``margin`` (on the log scale for ``log`` tests)."""
        return self.low > margin

    def below(self, margin: float = 0.0) -> bool:
        """Whether the whole 95% interval lies below ``margin``."""
        return self.high < margin

    @property
    def ratio(self) -> float:
        """``exp(effect)``: the geometric-mean ratio A / B (log tests only)."""
        if not self.log:
            raise ValueError("ratio is defined for log-scale tests: welch(a, b, log=True)")
        return math.exp(self.effect)

    @property
    def ratio_interval(self) -> tuple[float, float]:
        """The 95% interval of :attr:`ratio`."""
        if not self.log:
            raise ValueError("ratio_interval is defined for log-scale tests")
        return math.exp(self.low), math.exp(self.high)

    def __format__(self, spec: str) -> str:
        spec = spec or ".3g"
        n = "/".join(str(k) for k in self.n)
        name = "95% PI" if self.prediction else "95% CI"
        if self.log:
            lo, hi = self.ratio_interval
            head = f"ratio {self.ratio:{spec}} [{name} {lo:{spec}}, {hi:{spec}}]"
        else:
            head = f"{self.effect:+{spec}} [{name} {self.low:+{spec}}, {self.high:+{spec}}]"
        if self.prediction:
            verdict = "agrees" if self.agrees else "disagrees"
            return f"{head} for one run, n = {n}, p = {self.p:.2g}: {verdict}"
        verdict = "resolved" if self.resolved else "not resolved"
        if self.margin is not None:
            band = (f"ratio within ×/÷ {math.exp(self.margin):{spec}}" if self.log
                    else f"within ±{self.margin:{spec}}")
            return f"{head}, n = {n}, p = {self.p:.2g}: {band}: {verdict}"
        return f"{head}, n = {n}, p = {self.p:.2g}: {verdict}"

    def __str__(self) -> str:
        return format(self, "")


def _test(effect: float, variance: float, df: float, n: tuple[int, ...], log: bool) -> Test:
    se = math.sqrt(variance)
    if se == 0.0:                                  # every run identical: no spread to test against
        t = 0.0 if effect == 0 else math.copysign(math.inf, effect)
        return Test(effect, effect, effect, df, t, 1.0 if effect == 0 else 0.0, n, log)
    t = effect / se
    half = t_quantile(0.5 + CONFIDENCE / 2, df) * se
    p = 2.0 * _t_tail(t, df)
    return Test(effect, effect - half, effect + half, df, t, p, n, log)


def welch(a: Estimate, b: Estimate, *, log: bool = False) -> Test:
    """Welch's two-sample t test of ``mean(A) − mean(B)`` (``log``: of ``mean(log A) − mean(log B)``,
    for losses and errors that differ by factors), unequal variances, Welch–Satterthwaite degrees of
    freedom ``ν = (v_A + v_B)² / (v_A²/(n_A − 1) + v_B²/(n_B − 1))`` with ``v = s²/n``; two-sided at
    5%. Needs ≥ 2 runs per arm (:class:`Estimate` enforces it)."""
    if not isinstance(a, Estimate) or not isinstance(b, Estimate):
        raise TypeError(f"welch takes two Estimates, got {type(a).__name__} and {type(b).__name__}")
    if log:
        a, b = a.log(), b.log()
    va, vb = a.std ** 2 / a.n, b.std ** 2 / b.n
    denominator = va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1)
    df = (va + vb) ** 2 / denominator if denominator > 0 else float(a.n + b.n - 2)
    return _test(a.mean - b.mean, va + vb, df, (a.n, b.n), log)


def one_sample(a: Estimate, value: float, *, log: bool = False) -> Test:
    """The one-sample t test of ``mean(A) − value`` (``log``: ``mean(log A) − log(value)``), ``n − 1``
    degrees of freedom, two-sided at 5%."""
    if not isinstance(a, Estimate):
        raise TypeError(f"one_sample takes an Estimate, got {type(a).__name__}")
    if log:
        if not value > 0:
            raise ValueError(f"a log-scale test needs a positive value, got {value}")
        a, value = a.log(), math.log(value)
    return _test(a.mean - value, a.std ** 2 / a.n, float(a.n - 1), (a.n,), log)


def prediction(a: Estimate, value: float, *, test_set_se: float = 0.0) -> Test:
    """Is ``value`` (a paper's single run) a plausible single run of the setup that gave ``a``?

    The effect is ``mean(A) − value`` with the 95% *prediction* interval for one new run,
    ``± t₀.₉₇₅,ν · √V``, ``V = s²(1 + 1/n)`` (a new run's scatter plus our mean's), ``ν = n − 1``. Where
    the value was measured on another test set (a fresh draw of the same distribution),
    ``test_set_se`` is the standard error of one run's number over its test examples and each number
    carries it: ``V += 2 · test_set_se²``, with Welch–Satterthwaite ``ν = V² / ((s²(1 + 1/n))² / (n −
    1))`` (the test term is estimated from thousands of examples: infinite degrees of freedom). On
    the same test set the two share it and it cancels: pass 0. :attr:`Test.agrees` is the verdict.
    """
    if not isinstance(a, Estimate):
        raise TypeError(f"prediction takes an Estimate, got {type(a).__name__}")
    if not test_set_se >= 0:
        raise ValueError(f"test_set_se must be ≥ 0, got {test_set_se}")
    seeds = a.std ** 2 * (1 + 1 / a.n)
    total = seeds + 2 * test_set_se ** 2
    df = total ** 2 / (seeds ** 2 / (a.n - 1)) if seeds > 0 else math.inf
    test = _test(a.mean - value, total, df, (a.n,), False)
    return dataclasses.replace(test, prediction=True)
