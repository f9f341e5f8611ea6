"""symlib.scaling: power-law fits recover known laws, the frontier is the lower envelope."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symlib.scaling import PowerLaw, fit_power_law, frontier


@settings(max_examples=30, deadline=None)
@given(a=st.floats(1e-3, 1e3), b=st.floats(0.01, 2.0))
def test_a_noiseless_power_law_is_recovered(a, b) -> None:
    c = np.logspace(6, 12, 7)
    law = fit_power_law(c, a * c**-b)
    assert math.isclose(law.a, a, rel_tol=1e-8) and math.isclose(law.b, b, rel_tol=1e-8, abs_tol=1e-10)
    assert law.r2 > 1 - 1e-12 and law.b_err < 1e-8 and law.points == 7


def test_standard_errors_cover_the_truth_under_noise() -> None:
    rng = np.random.default_rng(0)
    c = np.logspace(6, 12, 40)
    hits = 0
    for _ in range(200):
        law = fit_power_law(c, 2.0 * c**-0.3 * np.exp(rng.normal(0, 0.1, c.shape)))
        hits += abs(law.b - 0.3) < 2 * law.b_err
    assert 0.9 < hits / 200 <= 1.0                       # ~95 % coverage of a ±2σ interval


def test_ratio_of_two_laws() -> None:
    slow, fast = PowerLaw(4.0, 0.2, 0, 0, 1, 2), PowerLaw(2.0, 0.2, 0, 0, 1, 2)
    assert np.allclose(slow.ratio(fast, np.array([1e3, 1e9])), 2.0)
    assert "C^(-0.200" in str(slow)


def test_frontier_is_the_best_loss_within_each_budget() -> None:
    small = ([1.0, 2.0, 4.0], [5.0, 3.0, 2.5])          # cheap, plateaus
    large = ([4.0, 8.0, 16.0], [4.0, 2.0, 1.0])         # expensive, keeps improving
    got = frontier([small, large], [0.5, 1.0, 3.0, 4.0, 10.0, 100.0])
    assert np.allclose(got, [np.nan, 5.0, 3.0, 2.5, 2.0, 1.0], equal_nan=True)
    noisy = frontier([([1.0, 2.0, 3.0], [2.0, 3.0, 1.0])], [2.5])  # a worse later evaluation
    assert noisy.tolist() == [2.0]                                     # does not undo a better one


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="at least 2 points"):
        fit_power_law([1.0], [1.0])
    with pytest.raises(ValueError, match="positive and finite"):
        fit_power_law([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="one length"):
        fit_power_law([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        frontier([([2.0, 1.0], [1.0, 1.0])], [1.0])
