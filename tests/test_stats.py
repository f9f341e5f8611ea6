"""Tests for symlib.stats: mean ± standard error over seeds, and the declared test (Welch's t, its 95%
interval, equivalence) against scipy and tabulated values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from symlib.stats import estimate, geometric, one_sample, prediction, t_cdf, t_quantile, welch

runs = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=8)


def test_mean_std_and_standard_error_by_hand() -> None:
    e = estimate([1.0, 2.0, 3.0, 6.0])
    assert e.n == 4 and e.mean == 3.0
    assert math.isclose(e.std, math.sqrt(14 / 3))  # squared deviations 4+1+0+9 over n-1
    assert math.isclose(e.se, math.sqrt(14 / 3) / 2)


def test_accepts_numpy_and_tensor_values() -> None:
    e = estimate([np.float32(0.5), torch.tensor(0.25), 1])
    assert e.values == (0.5, 0.25, 1.0)


def test_format_applies_the_spec_to_mean_and_error() -> None:
    assert format(estimate([0.86, 0.87, 0.88]), ".1%") == "87.0% ± 0.6%"
    assert str(estimate([1.0, 3.0])) == "2 ± 1"


@pytest.mark.parametrize("values, message", [([1.0], "at least 2 runs"), ([1.0, math.nan], "finite"),
                                             ([1.0, math.inf, 2.0], "finite")])
def test_bad_runs_are_named(values, message) -> None:
    with pytest.raises(ValueError, match=message):
        estimate(values)


def test_log_scale_needs_positive_values() -> None:
    with pytest.raises(ValueError, match="positive"):
        estimate([1.0, 0.0, 2.0]).log()


@given(runs, st.floats(-100, 100))
def test_shifting_both_sides_changes_nothing(values, shift) -> None:
    a = estimate(values)
    b = estimate([v + 1.0 for v in values])
    a2, b2 = estimate([v + shift for v in a.values]), estimate([v + shift for v in b.values])
    assert math.isclose(welch(b, a).effect, welch(b2, a2).effect, abs_tol=1e-6)


# --------------------------------------------------------------------------------------------------
# the declared test: Welch's t with its 95% interval


@pytest.mark.parametrize("df, quantile", [(1, 12.706204736174707), (2, 4.302652729749464),
                                          (4, 2.7764451051977934), (10, 2.2281388519862744),
                                          (30, 2.0422724563012373)])
def test_t_quantiles_match_the_tables(df: int, quantile: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(quantile, rel=1e-12)
    assert t_cdf(quantile, df) == pytest.approx(0.975, abs=1e-14)
    assert t_quantile(0.025, df) == -t_quantile(0.975, df)


@settings(max_examples=60)
@given(st.floats(-60, 60), st.floats(0.5, 500))
def test_t_cdf_agrees_with_scipy_and_is_symmetric(x: float, df: float) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    assert t_cdf(x, df) == pytest.approx(float(scipy_stats.t.cdf(x, df)), abs=1e-12)
    assert t_cdf(-x, df) == pytest.approx(1.0 - t_cdf(x, df), abs=1e-14)


def test_welch_matches_scipy_with_its_interval() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    a = estimate([1.0, 1.2, 0.9, 1.1, 1.3, 0.95, 1.05, 1.15])
    b = estimate([0.8, 0.85, 0.9, 0.7, 0.95])
    test = welch(a, b)
    ref = scipy_stats.ttest_ind(a.values, b.values, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert (test.t, test.p, test.df) == pytest.approx((ref.statistic, ref.pvalue, ref.df), rel=1e-10)
    assert (test.low, test.high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert test.resolved and test.above(0.1) and not test.above(0.2) and test.n == (8, 5)
    assert str(test) == "+0.241 [95% CI +0.1, +0.382], n = 8/5, p = 0.0032: resolved"


def test_one_sample_and_log_scale() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    a = estimate([1.0, 1.2, 0.9, 1.1, 1.3, 0.95, 1.05, 1.15])
    ref = scipy_stats.ttest_1samp(a.values, 1.0)
    test = one_sample(a, 1.0)
    assert (test.p, test.df) == pytest.approx((ref.pvalue, 7), rel=1e-10) and not test.resolved
    losses, halves = estimate([0.2, 0.25, 0.22, 0.21]), estimate([0.1, 0.12, 0.11, 0.105])
    ratio = welch(losses, halves, log=True)
    assert ratio.ratio == pytest.approx(2.0, rel=0.05) and ratio.resolved
    lo, hi = ratio.ratio_interval
    assert lo < ratio.ratio < hi and math.log(lo) == pytest.approx(ratio.low)
    mean_log = sum(math.log(v) for v in losses.values) / losses.n
    assert one_sample(losses, 0.2, log=True).effect == pytest.approx(mean_log - math.log(0.2), rel=1e-12)
    with pytest.raises(ValueError, match="ratio"):
        _ = welch(a, a).ratio
    with pytest.raises(ValueError, match="positive"):
        one_sample(a, 0.0, log=True)


def test_three_seeds_at_two_standard_errors_are_not_resolved() -> None:
    """Why the book left its old rule: with 3 seeds per arm a difference of 2.5 standard errors
    cleared "2 SE", but its Welch interval (about 4 degrees of freedom) includes zero."""
    wider, b = estimate([1.03, 1.13, 1.23]), estimate([0.85, 0.95, 1.05])
    se = math.hypot(wider.se, b.se)
    assert (wider.mean - b.mean) / se > 2                       # the old rule's "resolved"
    assert not welch(wider, b).resolved and 0.05 < welch(wider, b).p < 0.1


def test_identical_runs_and_bad_input() -> None:
    same = estimate([1.0, 1.0, 1.0])
    assert welch(same, same).p == 1.0 and not welch(same, same).resolved
    shifted = welch(estimate([2.0, 2.0]), same)
    assert shifted.resolved and shifted.p == 0.0 and shifted.low == shifted.high == 1.0
    with pytest.raises(TypeError, match="Estimates"):
        welch([1.0, 2.0], same)
    with pytest.raises(ValueError, match="q must be"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_cdf(1.0, 0)


def test_p_is_accurate_far_in_the_tail() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    c = estimate([0.86, 0.87, 0.875, 0.865, 0.87, 0.868, 0.872, 0.869])
    m = estimate([0.61, 0.62, 0.615, 0.618, 0.612, 0.617, 0.619, 0.616])
    ref = scipy_stats.ttest_ind(c.values, m.values, equal_var=False).pvalue
    assert welch(c, m).p == pytest.approx(ref, rel=1e-8) and 0 < ref < 1e-20


def test_an_estimates_interval_is_the_one_sample_t_interval() -> None:
    from scipy import stats as scipy_stats

    e = estimate([0.61, 0.64, 0.59, 0.66, 0.62, 0.63, 0.60, 0.65])
    low, high = scipy_stats.t.interval(0.95, e.n - 1, loc=e.mean, scale=e.se)
    assert e.interval == pytest.approx((low, high), rel=1e-10)
    assert e.half_width == pytest.approx(high - e.mean, rel=1e-10)
    assert one_sample(e, e.interval[0]).p == pytest.approx(0.05, rel=1e-8)     # its edge is p = 0.05


def test_equivalence_is_the_interval_inside_the_margin() -> None:
    """"Within 0.05 of 0.5": resolved when the whole 95% interval lies inside ±0.05 (two one-sided
    tests at 2.5%); the p of a difference test says nothing about it, and the verdict line says so."""
    near = estimate([0.49, 0.50, 0.51, 0.505, 0.495, 0.50, 0.502, 0.498])
    test = one_sample(near, 0.5)
    assert not test.resolved                                  # no difference from 0.5 ...
    close = test.within(0.05)
    assert close.resolved and close.effect == test.effect     # ... and inside ±0.05 of it
    assert not test.within(0.005).resolved
    assert str(close).endswith("within ±0.05: resolved") and close.p < 0.025
    assert test.within(0.005).p > 0.025
    for margin in (0.004, 0.0057, 0.006, 0.02):           # p < 2.5% exactly when the CI is inside
        assert test.within(margin).resolved == (test.within(margin).p < 0.025), margin
    se = near.se                                          # the larger one-sided p, by hand with scipy
    from scipy import stats as scipy_stats
    by_hand = max(scipy_stats.t.sf((test.effect + 0.006) / se, near.n - 1),
                  scipy_stats.t.sf((0.006 - test.effect) / se, near.n - 1))
    assert test.within(0.006).p == pytest.approx(by_hand, rel=1e-8)
    wide = one_sample(estimate([0.3, 0.7, 0.5]), 0.5).within(0.05)
    assert not wide.resolved and str(wide).endswith("not resolved")
    log_test = welch(estimate([1.0, 1.02, 0.99, 1.01]), estimate([1.0, 1.01, 1.0, 0.99]), log=True)
    assert log_test.within(math.log(1.1)).resolved and "×/÷ 1.1" in str(log_test.within(math.log(1.1)))
    with pytest.raises(ValueError, match="positive"):
        test.within(0.0)


def test_geometric_means_and_their_intervals_for_figures() -> None:
    runs = [estimate([1.0, 2.0, 4.0]), estimate([0.1, 0.1, 0.1 + 1e-9])]
    centre, low, high = geometric(runs)
    assert centre[0] == pytest.approx(2.0) and low[0] < 2.0 < high[0]
    assert (low[0], high[0]) == pytest.approx(tuple(math.exp(v) for v in runs[0].log().interval))
    assert centre.shape == low.shape == high.shape == (2,)


def test_prediction_is_the_interval_for_one_more_run() -> None:
    """A paper's single run against ours: mean ± t₀.₉₇₅,ₙ₋₁ · s · √(1 + 1/n); agrees when inside it; a
    second test set's sampling error widens it (Welch–Satterthwaite df); the normal limit is exact."""
    runs = estimate([0.90, 0.92, 0.94])
    half = t_quantile(0.975, 2) * 0.02 * math.sqrt(1 + 1 / 3)
    inside, outside = prediction(runs, 0.97), prediction(runs, 0.92 + half + 1e-3)
    assert math.isclose(inside.high - inside.effect, half, rel_tol=1e-12) and inside.df == 2
    assert inside.agrees and not outside.agrees and outside.p < 0.05 < inside.p
    assert str(inside).startswith("-0.05 [95% PI")
    assert str(inside).endswith("for one run, n = 3, p = 0.16: agrees")
    wide = prediction(runs, 0.97, test_set_se=0.01)
    total = 0.02 ** 2 * (1 + 1 / 3) + 2 * 0.01 ** 2
    seeds = 0.02 ** 2 * (1 + 1 / 3)
    assert wide.agrees and math.isclose(wide.df, total ** 2 / (seeds ** 2 / 2), rel_tol=1e-12)
    assert math.isclose(wide.high - wide.effect, t_quantile(0.975, wide.df) * math.sqrt(total), rel_tol=1e-12)
    same = prediction(estimate([1.0, 1.0, 1.0]), 1.01, test_set_se=0.01)      # no spread over seeds
    assert math.isinf(same.df) and same.agrees
    assert math.isclose(same.high, t_quantile(0.975, math.inf) * 0.01 * math.sqrt(2) - 0.01, rel_tol=1e-9)
    assert math.isclose(t_quantile(0.975, math.inf), 1.959963984540054, rel_tol=1e-12)
    with pytest.raises(ValueError, match="verdict of a prediction test"):
        assert welch(runs, runs).agrees
    with pytest.raises(ValueError, match="no equivalence reading"):
        inside.within(0.1)
    with pytest.raises(ValueError, match="test_set_se"):
        prediction(runs, 0.9, test_set_se=-1.0)


@pytest.mark.parametrize("df", [1e6, 1e9, 1e16, 1e300])
def test_t_tends_to_the_normal_at_any_large_df(df: float) -> None:
    """Huge degrees of freedom (a prediction interval whose seeds barely differ has them) give the
    normal quantile, not a failed continued fraction."""
    assert math.isclose(t_quantile(0.975, df), 1.959963984540054, rel_tol=1e-5)
    assert math.isclose(t_cdf(-1.959963984540054, df), 0.025, rel_tol=1e-5)
