"""Tests for symlib.stats: mean ± standard error over seeds, and the 2-SE rule for comparisons."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from symlib.stats import MIN_SEEDS, compare, estimate, exceeds, exceeds_ratio

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
    with pytest.raises(ValueError, match="factor must be positive"):
        exceeds_ratio(estimate([1, 2, 3]), estimate([1, 2, 3]), 0)


def test_compare_takes_estimates() -> None:
    with pytest.raises(TypeError, match="two Estimates"):
        compare([1, 2, 3], estimate([1, 2, 3]))  # type: ignore[arg-type]


def test_a_clear_difference_exceeds_and_a_noisy_one_does_not() -> None:
    high, low = estimate([10.0, 10.1, 9.9]), estimate([5.0, 5.1, 4.9])
    assert exceeds(high, low) and exceeds(high, low, by=4.5)
    assert not exceeds(high, low, by=5.0)            # the margin is on top of the difference
    assert not exceeds(low, high)                    # direction matters
    noisy = estimate([2.0, 12.0, 16.0])              # mean 10, se ~4.2: 10 − 5 < 2·4.2
    assert not exceeds(noisy, low) and not compare(noisy, low).resolved()


def test_fewer_than_min_seeds_never_exceeds() -> None:
    assert MIN_SEEDS == 3
    two = estimate([10.0, 10.0 + 1e-9])
    assert not exceeds(two, estimate([0.0, 1e-9])), "two seeds are never enough, however far apart"
    assert not compare(two, estimate([0.0, 0.1, 0.2])).resolved()


def test_exceeds_ratio_compares_on_a_log_scale() -> None:
    gnn, egnn = estimate([0.040, 0.038, 0.042]), estimate([0.016, 0.017, 0.015])
    c = compare(gnn, egnn, log=True)
    assert math.isclose(c.ratio, math.exp(np.mean(np.log(gnn.values)) - np.mean(np.log(egnn.values))))
    assert exceeds_ratio(gnn, egnn, 2.0) and not exceeds_ratio(gnn, egnn, 3.0)
    assert "ratio" in str(c)
    with pytest.raises(ValueError, match="log-scale"):
        _ = compare(gnn, egnn).ratio


@given(runs, runs, st.floats(0, 10))
def test_the_rule_is_exactly_the_formula(a_values, b_values, sigmas) -> None:
    a, b = estimate(a_values), estimate(b_values)
    c = compare(a, b)
    assert math.isclose(c.se, math.sqrt(a.se**2 + b.se**2), abs_tol=1e-12)
    enough = min(a.n, b.n) >= MIN_SEEDS
    assert exceeds(a, b, sigmas=sigmas) == (enough and a.mean - b.mean > sigmas * c.se)
    assert c.resolved(sigmas) == (exceeds(a, b, sigmas=sigmas) or exceeds(b, a, sigmas=sigmas))


@given(runs, st.floats(-100, 100))
def test_shifting_both_sides_changes_nothing(values, shift) -> None:
    a = estimate(values)
    b = estimate([v + 1.0 for v in values])
    a2, b2 = estimate([v + shift for v in a.values]), estimate([v + shift for v in b.values])
    assert math.isclose(compare(b, a).diff, compare(b2, a2).diff, abs_tol=1e-6)


def test_an_estimate_against_a_fixed_number() -> None:
    e = estimate([0.90, 0.92, 0.94])                 # mean 0.92, se ≈ 0.0115
    assert e.above(0.89) and not e.above(0.90)        # 0.92 − 2·0.0115 ≈ 0.897
    assert e.below(0.95) and not e.below(0.94)
    assert e.within(0.92, 0.03) and not e.within(0.92, 0.02) and not e.within(0.85, 0.05)
    assert e.above(0.90, sigmas=1)
    two = estimate([0.9, 0.9 + 1e-9])
    assert not (two.above(0.0) or two.below(1.0) or two.within(0.9, 1.0)), "two runs are never enough"
