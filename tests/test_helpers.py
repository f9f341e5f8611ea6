"""tests/helpers.py: the shared assertions pass what is exact and fail, with a useful message, on what
is not (a broken symmetry, a NaN, the wrong output dtype, a bound missed by a factor)."""

from __future__ import annotations

import pytest
import torch

from symlib.equivariance import equivariance_error, tolerance
from symlib.groups import CyclicShift1d

from helpers import assert_broken, assert_equivariant, assert_invariant, assert_matches

SHIFTS = CyclicShift1d(8)


def _signals(dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(3, 8, generator=torch.Generator().manual_seed(0), dtype=dtype)


def test_an_equivariant_function_passes_and_its_measurement_is_returned(dtype: torch.dtype) -> None:
    result = assert_equivariant(lambda z: z.roll(1, -1), _signals(dtype), SHIFTS, dtype=dtype)
    assert result.exhaustive and len(result.errors) == 8 and result.dtype == dtype
    assert assert_invariant(lambda z: z.sum(-1), _signals(dtype), SHIFTS, dtype=dtype).holds


def test_a_broken_symmetry_fails_naming_error_bound_and_dtype(dtype: torch.dtype) -> None:
    w = torch.randn(8, 8, generator=torch.Generator().manual_seed(1), dtype=dtype)
    name = str(dtype).removeprefix("torch.")
    with pytest.raises(AssertionError, match=rf"equivariance under CyclicShift1d.*max relative error .* "
                                             rf"not within the bound .* = 1 × tolerance\({name}\)"):
        assert_equivariant(lambda z: z @ w, _signals(dtype), SHIFTS)
    with pytest.raises(AssertionError, match=r"invariance under .*not within the bound .* = 1000 ×"):
        assert_invariant(lambda z: z @ w, _signals(dtype), SHIFTS, factor=1000)
    assert_broken(equivariance_error(lambda z: z @ w, _signals(dtype), SHIFTS))
    with pytest.raises(AssertionError, match="expected a broken symmetry"):
        assert_broken(equivariance_error(lambda z: z.roll(1, -1), _signals(dtype), SHIFTS))


def test_nan_and_the_wrong_output_dtype_fail() -> None:
    x = _signals(torch.float32)
    with pytest.raises(AssertionError, match="max relative error nan"):
        assert_invariant(lambda z: z.sum(-1) * float("nan"), x, SHIFTS)
    with pytest.raises(AssertionError, match="the output is float32, expected float64"):
        assert_equivariant(lambda z: z.roll(1, -1), x, SHIFTS, dtype=torch.float64)


def test_the_factor_scales_the_bound(dtype: torch.dtype) -> None:
    """An error of 3 tolerances fails the plain bound and passes a factor of 4; tuples need a dtype."""
    x = _signals(dtype).double()
    off = x * (1 + 3 * tolerance(dtype))
    with pytest.raises(AssertionError, match=r"relative error 3\.0e-\d+, not within the bound"):
        assert_matches(off, x, dtype=dtype)
    assert_matches(off, x, dtype=dtype, factor=4)
    assert_matches(off.to(dtype), x, factor=4)      # the dtype is actual's
    with pytest.raises(TypeError, match="pass dtype="):
        assert_matches((off,), (x,))
