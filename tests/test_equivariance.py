"""Tests for symlib.equivariance: equivariant functions pass, broken ones fail by a wide margin.

Every measurement runs in float32 and float64 (the ``dtype`` fixture of ``tests/conftest.py``) and is
judged against :func:`symlib.equivariance.tolerance` of the function's output dtype. A function that is
*not* equivariant must miss by more than :func:`symlib.equivariance.broken` (``helpers.assert_broken``),
the book's one "broken" level, so the tests cannot pass by a rounding accident in either direction.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data

from symlib.equivariance import (
    BROKEN,
    EXACT32,
    EXACT64,
    TOLERANCES,
    EquivarianceResult,
    broken,
    equation_sides,
    equivariance_error,
    invariance_error,
    relative_error,
    tolerance,
    verdict,
)
from symlib.groups import (
    CyclicShift1d,
    CyclicShift2d,
    Dihedral4,
    Euclidean3d,
    GraphPermutation,
    Permutation,
    Product,
    Rot90,
    Trivial,
)

from helpers import assert_broken

pytestmark = pytest.mark.usefixtures("single_threaded_torch")  # tiny tensors: see tests/conftest.py

#: the default number of sampled elements of equivariance_error, and its default exhaustive limit
DEFAULT_SAMPLES = 8
DEFAULT_EXHAUSTIVE_LIMIT = 64
#: image size of the convolution tests, and the radius of their 3×3 kernels
SIZE = 10
RADIUS = 1

EUCLIDEAN_VARIANTS = {
    "SO3": dict(reflections=False, translations=False),
    "O3": dict(reflections=True, translations=False),
    "SE3": dict(reflections=False, translations=True),
    "E3": dict(reflections=True, translations=True),
}


def randn(*shape: int, dtype: torch.dtype, seed: int = 0) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def conv(dtype: torch.dtype, padding_mode: str) -> Callable[[Tensor], Tensor]:
    """A fixed random 3×3 convolution, 3 -> 4 channels, 'same' size, with the given padding."""
    w, b = randn(4, 3, 3, 3, dtype=dtype, seed=1), randn(4, dtype=dtype, seed=2)

    def f(x: Tensor) -> Tensor:
        return F.conv2d(F.pad(x, (RADIUS,) * 4, mode=padding_mode), w, b)

    return f


def pairwise_distances(p: Tensor) -> Tensor:
    return (p[..., :, None, :] - p[..., None, :, :]).norm(dim=-1)


def centred(p: Tensor) -> Tensor:
    return p - p.mean(-2, keepdim=True)


# --------------------------------------------------------------------------------------------------
# convolutions on the torus


def test_circular_conv_is_shift_equivariant(dtype: torch.dtype) -> None:
    x = randn(2, 3, 8, 8, dtype=dtype)
    result = equivariance_error(conv(dtype, "circular"), x, CyclicShift2d(8, 8))
    assert result.exhaustive and len(result.errors) == 64  # 8·8 shifts: every one is tested
    assert result.dtype == dtype
    assert result.max <= tolerance(dtype) and result.holds


def test_zero_padded_conv_is_not_shift_equivariant(dtype: torch.dtype) -> None:
    x = randn(2, 3, 8, 8, dtype=dtype)
    result = equivariance_error(conv(dtype, "constant"), x, CyclicShift2d(8, 8))
    assert_broken(result)
    assert result.errors[0] <= result.tol  # ... except for the identity shift (0, 0), listed first


def unaffected(n: int, shift: int) -> Tensor:
    """Positions ``p`` where a zero-padded conv of radius RADIUS commutes with a cyclic shift:
    neither ``p`` nor the pixel ``p - shift`` it came from is within RADIUS of the border."""
    p = torch.arange(n)
    interior = (p >= RADIUS) & (p <= n - 1 - RADIUS)
    return interior & interior[(p - shift) % n]


def test_zero_padded_conv_error_lives_at_the_border(dtype: torch.dtype) -> None:
    x = randn(1, 3, SIZE, SIZE, dtype=dtype)
    g = (2, 3)
    shifts = CyclicShift2d(SIZE, SIZE)
    f_gx, g_fx = equation_sides(conv(dtype, "constant"), x, shifts, shifts, g)
    assert f_gx.dtype == dtype and g_fx.dtype == torch.float64
    mask = unaffected(SIZE, g[0])[:, None] & unaffected(SIZE, g[1])[None, :]
    # rows 1..8 that did not come from rows 0 or 9: not rows 2, 1 (shift 2), so rows 3..8;
    # columns 1..8 that did not come from columns 0 or 9: not columns 3, 2 (shift 3), so 1 and 4..8
    assert mask.sum(1).max() == 6 and mask.any(1).tolist() == [False] * 3 + [True] * 6 + [False]
    assert mask.any(0).tolist() == [False, True, False, False] + [True] * 5 + [False]
    tol = tolerance(dtype)
    assert relative_error(f_gx[..., mask], g_fx[..., mask]) <= tol
    assert relative_error(f_gx[..., ~mask], g_fx[..., ~mask]) > broken(dtype)
    # the same picture with circular padding: no error anywhere
    f_gx, g_fx = equation_sides(conv(dtype, "circular"), x, shifts, shifts, g)
    assert relative_error(f_gx, g_fx) <= tol


def test_equation_sides_output_element_defaults_to_input_element(dtype: torch.dtype) -> None:
    x = randn(3, 5, dtype=dtype)
    G = CyclicShift1d(5)
    f_gx, g_fx = equation_sides(torch.tanh, x, G, G, 2)
    f_gx2, g_fx2 = equation_sides(torch.tanh, x, G, G, 2, 2)
    assert torch.equal(f_gx, f_gx2) and torch.equal(g_fx, g_fx2)
    assert relative_error(f_gx, g_fx) <= tolerance(dtype)
    # acting on the output with another element shows up as an error
    f_gx, g_fx = equation_sides(torch.tanh, x, G, G, 2, 1)
    assert relative_error(f_gx, g_fx) > broken(dtype)


# --------------------------------------------------------------------------------------------------
# invariance of pooling, and its failure for a dense layer


@pytest.mark.parametrize("G", [CyclicShift2d(6, 6), Rot90(), Dihedral4()], ids=repr)
def test_global_mean_pooling_is_invariant(G, dtype: torch.dtype) -> None:
    x = randn(2, 3, 6, 6, dtype=dtype)
    result = invariance_error(lambda z: z.mean(dim=(-2, -1)), x, G)
    assert result.exhaustive and result.holds and result.max <= tolerance(dtype)


def test_linear_layer_on_flattened_input_is_not_invariant(dtype: torch.dtype) -> None:
    x = randn(2, 3, 6, 6, dtype=dtype)
    w, b = randn(5, 3 * 6 * 6, dtype=dtype, seed=1), randn(5, dtype=dtype, seed=2)
    result = invariance_error(lambda z: F.linear(z.flatten(1), w, b), x, CyclicShift2d(6, 6))
    assert result.exhaustive and len(result.errors) == 36
    assert_broken(result)
    assert result.errors[0] <= result.tol  # the identity shift


# --------------------------------------------------------------------------------------------------
# point clouds and rigid motions


@pytest.mark.parametrize("variant", EUCLIDEAN_VARIANTS, ids=str)
def test_centring_maps_points_to_vectors_equivariantly(variant: str, dtype: torch.dtype) -> None:
    E = Euclidean3d(**EUCLIDEAN_VARIANTS[variant])
    p = randn(10, 3, dtype=dtype)
    result = equivariance_error(centred, p, E, E.on_vectors())
    assert not result.exhaustive and len(result.errors) == DEFAULT_SAMPLES
    assert result.holds and result.max <= tolerance(dtype)
    # the centroid is a point: points -> points
    assert equivariance_error(lambda q: q.mean(0), p, E).holds


def test_declaring_the_wrong_output_action_breaks_equivariance(dtype: torch.dtype) -> None:
    E = Euclidean3d()
    p = randn(10, 3, dtype=dtype)
    assert_broken(equivariance_error(centred, p, E, E))  # centred points do not translate
    assert_broken(equivariance_error(lambda q: q, p, E, E.on_vectors()))  # positions do


def test_pairwise_distances_are_e3_invariant(dtype: torch.dtype) -> None:
    p = randn(2, 10, 3, dtype=dtype)
    result = invariance_error(pairwise_distances, p, Euclidean3d(reflections=True))
    assert result.holds and result.max <= tolerance(dtype)
    # distances to the origin are O(3)-invariant, but translations change them
    norms = lambda q: q.norm(dim=-1)  # noqa: E731
    assert invariance_error(norms, p, Euclidean3d(reflections=True, translations=False)).holds
    assert_broken(invariance_error(norms, p, Euclidean3d(reflections=True)))


def test_tuple_outputs_with_product(dtype: torch.dtype) -> None:
    E = Euclidean3d(reflections=True)
    p = randn(10, 3, dtype=dtype)
    out = Product(E, E.on_vectors(), Trivial())
    f = lambda q: (q.mean(0, keepdim=True), centred(q), pairwise_distances(q))  # noqa: E731
    result = equivariance_error(f, p, E, out)
    assert result.holds and result.max <= tolerance(dtype)
    # one wrong component is enough to break the whole tuple
    g = lambda q: (q.mean(0, keepdim=True), q, pairwise_distances(q))  # noqa: E731
    assert_broken(equivariance_error(g, p, E, out))


def test_tuple_inputs_with_product(dtype: torch.dtype) -> None:
    E = Euclidean3d(reflections=True)
    x = (randn(10, 3, dtype=dtype, seed=0), randn(10, 3, dtype=dtype, seed=1))  # positions, velocities
    step = lambda pv: pv[0] + 0.1 * pv[1]  # noqa: E731  # a point moved along a vector is a point
    result = equivariance_error(step, x, Product(E, E.on_vectors()), E)
    assert result.holds and result.max <= tolerance(dtype)
    assert_broken(equivariance_error(lambda pv: pv[0] + pv[0], x, Product(E, E.on_vectors()), E))


# --------------------------------------------------------------------------------------------------
# sets and graphs


@pytest.mark.parametrize("n", [4, 9])
def test_sum_aggregation_is_permutation_equivariant(n: int, dtype: torch.dtype) -> None:
    x = randn(n, 3, dtype=dtype)
    result = equivariance_error(lambda z: z + z.sum(0), x, Permutation(n))
    assert result.exhaustive == (math.factorial(n) <= DEFAULT_EXHAUSTIVE_LIMIT)
    assert result.holds and result.max <= tolerance(dtype)
    assert invariance_error(lambda z: z.sum(0), x, Permutation(n)).holds
    # batched sets, permuted along dim -2
    xs = randn(2, n, 3, dtype=dtype)
    assert equivariance_error(lambda z: z + z.sum(-2, keepdim=True), xs, Permutation(n, dim=-2)).holds


def test_position_dependent_set_function_is_not_equivariant(dtype: torch.dtype) -> None:
    x = randn(4, 3, dtype=dtype)
    weights = torch.arange(1, 5, dtype=dtype)[:, None]
    assert_broken(equivariance_error(lambda z: z * weights, x, Permutation(4)))


def graph(n: int, num_edges: int, dtype: torch.dtype) -> Data:
    gen = torch.Generator().manual_seed(0)
    return Data(x=torch.randn(n, 4, generator=gen, dtype=dtype),
                edge_index=torch.randint(n, (2, num_edges), generator=gen),
                pos=torch.randn(n, 3, generator=gen, dtype=dtype))


def neighbour_sum(data: Data) -> Tensor:
    src, dst = data.edge_index
    return torch.zeros_like(data.x).index_add(0, dst, data.x[src])


@pytest.mark.parametrize("n", [4, 8])
def test_message_passing_is_graph_permutation_equivariant(n: int, dtype: torch.dtype) -> None:
    data = graph(n, 3 * n, dtype)
    result = equivariance_error(neighbour_sum, data, GraphPermutation(n), Permutation(n, dim=0))
    assert result.exhaustive == (math.factorial(n) <= DEFAULT_EXHAUSTIVE_LIMIT)
    assert result.holds and result.max <= tolerance(dtype)
    # a graph-level readout is invariant
    assert invariance_error(lambda d: neighbour_sum(d).sum(0), data, GraphPermutation(n)).holds
    # the input graph is left as it was
    assert torch.equal(data.x, graph(n, 3 * n, dtype).x)


def test_node_index_dependent_graph_function_is_not_equivariant(dtype: torch.dtype) -> None:
    data = graph(6, 18, dtype)
    label = torch.arange(6, dtype=dtype)[:, None]
    result = equivariance_error(lambda d: neighbour_sum(d) + label, data, GraphPermutation(6),
                                Permutation(6, dim=0))
    assert_broken(result)


# --------------------------------------------------------------------------------------------------
# homomorphisms between input and output groups


def even_shifts(h: int, w: int) -> list[tuple[int, int]]:
    return [(2 * a, 2 * b) for a in range(h // 2) for b in range(w // 2)]


def halve(g: tuple[int, int]) -> tuple[int, int]:
    return (g[0] // 2, g[1] // 2)


def test_stride_two_pooling_is_equivariant_through_a_homomorphism(dtype: torch.dtype) -> None:
    x = randn(2, 3, 8, 8, dtype=dtype)
    pool = lambda z: F.avg_pool2d(z, 2)  # noqa: E731
    result = equivariance_error(pool, x, CyclicShift2d(8, 8), CyclicShift2d(4, 4),
                                elements=even_shifts(8, 8), hom=halve)
    assert len(result.errors) == 16 and result.chosen and not result.exhaustive  # never "all"
    assert str(result).endswith(f"over 16 chosen elements ({str(dtype).removeprefix('torch.')})")
    assert result.holds and result.max <= tolerance(dtype)
    # odd shifts do not commute with stride-2 pooling
    assert_broken(equivariance_error(pool, x, CyclicShift2d(8, 8), CyclicShift2d(4, 4),
                                     elements=[(1, 0), (0, 3)], hom=halve))


def test_actions_of_different_groups_need_a_homomorphism() -> None:
    x = randn(2, 3, 8, 8, dtype=torch.float32)
    with pytest.raises(ValueError, match="different groups"):
        equivariance_error(lambda z: F.avg_pool2d(z, 2), x, CyclicShift2d(8, 8), CyclicShift2d(4, 4),
                           elements=even_shifts(8, 8))
    with pytest.raises(ValueError, match=r"different groups.*hom="):
        equivariance_error(lambda z: z, x, Rot90(), Dihedral4())


# --------------------------------------------------------------------------------------------------
# input validation, element selection, determinism


def test_input_that_does_not_fit_the_action_raises() -> None:
    with pytest.raises(ValueError, match=r"CyclicShift2d.*\[\.\.\., 8, 8\].*\(2, 3, 6, 6\)"):
        equivariance_error(lambda z: z, randn(2, 3, 6, 6, dtype=torch.float32), CyclicShift2d(8, 8))
    with pytest.raises(ValueError, match=r"square"):
        invariance_error(lambda z: z.sum(), randn(3, 4, dtype=torch.float64), Rot90())


def test_output_that_does_not_fit_the_action_raises() -> None:
    crop = lambda z: z[..., 1:, :]  # noqa: E731
    with pytest.raises(ValueError, match=r"\[\.\.\., 8, 8\].*\(2, 7, 8\)"):
        equivariance_error(crop, randn(2, 8, 8, dtype=torch.float32), CyclicShift2d(8, 8))


def test_small_groups_are_tested_exhaustively_large_ones_sampled(dtype: torch.dtype) -> None:
    f = lambda z: z.roll(1, -1)  # noqa: E731  # shift-equivariant
    small = equivariance_error(f, randn(4, 4, dtype=dtype), CyclicShift2d(4, 4))
    assert small.exhaustive and not small.chosen and len(small.errors) == 16
    large = equivariance_error(f, randn(16, 16, dtype=dtype), CyclicShift2d(16, 16))
    assert not large.exhaustive and not large.chosen and len(large.errors) == DEFAULT_SAMPLES
    fewer = equivariance_error(f, randn(16, 16, dtype=dtype), CyclicShift2d(16, 16), samples=3)
    assert not fewer.exhaustive and len(fewer.errors) == 3
    capped = equivariance_error(f, randn(4, 4, dtype=dtype), CyclicShift2d(4, 4), exhaustive_limit=10)
    assert not capped.exhaustive and len(capped.errors) == DEFAULT_SAMPLES
    infinite = equivariance_error(centred, randn(5, 3, dtype=dtype), Euclidean3d(),
                                  Euclidean3d().on_vectors(), exhaustive_limit=10**9)
    assert not infinite.exhaustive
    assert all(r.holds for r in (small, large, fewer, capped, infinite))


def test_sampling_is_deterministic(dtype: torch.dtype) -> None:
    x = randn(2, 16, 16, dtype=dtype)
    w = randn(16 * 16, 3, dtype=dtype, seed=1)
    f = lambda z: z.flatten(-2) @ w  # noqa: E731  # not invariant: errors depend on the elements
    G = CyclicShift2d(16, 16)
    first = invariance_error(f, x, G)
    torch.manual_seed(12345)  # the default stream is its own, not torch's global one
    second = invariance_error(f, x, G)
    assert first.errors == second.errors
    explicit = invariance_error(f, x, G, generator=torch.Generator().manual_seed(0))
    assert explicit.errors == first.errors
    other = invariance_error(f, x, G, generator=torch.Generator().manual_seed(1))
    assert other.errors != first.errors


def test_no_elements_raises() -> None:
    with pytest.raises(ValueError, match="no group elements"):
        equivariance_error(lambda z: z, randn(4, dtype=torch.float32), CyclicShift1d(4), elements=[])


# --------------------------------------------------------------------------------------------------
# tolerance, relative_error, EquivarianceResult


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool], ids=str)
def test_tolerance_rejects_non_floating_dtypes(dtype: torch.dtype) -> None:
    with pytest.raises(ValueError, match=rf"no equivariance tolerance for dtype {dtype}"):
        tolerance(dtype)


def test_tolerances_shrink_with_precision() -> None:
    chain = [torch.bfloat16, torch.float16, torch.float32, torch.float64]
    values = [tolerance(d) for d in chain]
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
    assert all(tolerance(d) == TOLERANCES[d] > 0 for d in chain)
    # float32 rounding (2^-24 ≈ 6e-8) sits well inside the float32 tolerance, likewise float64
    assert torch.finfo(torch.float32).eps < tolerance(torch.float32)
    assert torch.finfo(torch.float64).eps < tolerance(torch.float64)


def test_relative_error_values(dtype: torch.dtype) -> None:
    a = randn(3, 4, dtype=dtype)
    tol = tolerance(dtype)
    assert relative_error(a, a) == 0.0
    assert abs(relative_error(2 * a, a) - 1.0) <= tol  # ‖2a − a‖ / ‖a‖ = 1
    assert abs(relative_error(3 * a, 2 * a) - 0.5) <= tol
    zero = torch.zeros_like(a)
    assert abs(relative_error(a, zero) - float(a.double().norm())) <= tol * float(a.double().norm())
    # tuples: one norm over all components
    b = randn(5, dtype=dtype, seed=1)
    assert abs(relative_error((2 * a, b), (a, b)) - float(a.double().norm() / torch.cat(
        [a.double().flatten(), b.double()]).norm())) <= tol


def test_relative_error_rejects_mismatched_outputs(dtype: torch.dtype) -> None:
    a = randn(3, 4, dtype=dtype)
    with pytest.raises(ValueError, match=r"cannot compare outputs of shapes \[\(3, 4\)\] and \[\(4, 3\)\]"):
        relative_error(a, a.T)
    with pytest.raises(ValueError, match=r"cannot compare"):
        relative_error((a, a), (a,))
    with pytest.raises(TypeError, match=r"expected a tensor, a tuple of tensors or a graph, got str"):
        relative_error("a", a)


def test_result_str_and_holds() -> None:
    tol32 = tolerance(torch.float32)
    exact = EquivarianceResult((0.0, tol32 / 10, tol32 / 4), torch.float32, True)
    assert str(exact) == f"max relative error {tol32 / 4:.1e} over all 3 elements (float32)"
    assert exact.holds and exact.max == tol32 / 4 == float(exact) and exact.tol == tol32
    at_tol = EquivarianceResult((tol32,), torch.float32, False)
    assert at_tol.holds  # "at or below" the tolerance
    sampled = EquivarianceResult((0.25, 0.5), torch.float64, False)
    assert str(sampled) == "max relative error 5.0e-01 over 2 sampled elements (float64)"
    assert not sampled.holds
    chosen = EquivarianceResult((0.25,), torch.float64, False, chosen=True)
    assert str(chosen) == "max relative error 2.5e-01 over 1 chosen elements (float64)"
    # the same error can be exact in float32 and broken in float64
    assert not EquivarianceResult((tol32,), torch.float64, True).holds


def test_nan_error_does_not_hold() -> None:
    result = EquivarianceResult((0.0, float("nan")), torch.float32, True)
    assert math.isnan(result.max) and not result.holds


def test_function_that_returns_nan_for_some_elements_is_not_equivariant() -> None:
    x = torch.tensor([1.0, -1.0, 2.0])
    # shift-equivariant, except that it returns NaN when the first entry is negative (shift by 2)
    f = lambda z: z + 0 * torch.log(z[..., :1])  # noqa: E731
    result = equivariance_error(f, x, CyclicShift1d(3))
    assert math.isnan(result.errors[2])
    assert not result.holds


def test_integer_outputs_give_a_clear_error() -> None:
    x = randn(2, 5, dtype=torch.float32)
    with pytest.raises(TypeError, match="no floating-point tensor"):
        invariance_error(lambda z: z.argmax(-1), x, CyclicShift1d(5))


def test_a_product_of_trivial_actions_measures_invariance() -> None:
    x = randn(2, 5, dtype=torch.float64)
    both = Product(Trivial(), Trivial())
    result = equivariance_error(lambda z: (z.sum(-1), z.sum(-1)), x, CyclicShift1d(5), both)
    assert result.holds


# --------------------------------------------------------------------------------------------------
# the one tolerance policy


def test_the_policy_has_three_verdicts_ordered_by_dtype() -> None:
    assert (EXACT64, EXACT32, BROKEN) == (tolerance(torch.float64), tolerance(torch.float32), 1e-3)
    for dtype in TOLERANCES:
        assert tolerance(dtype) < broken(dtype)             # room for "approximate" in every dtype
        assert verdict(0.0, dtype) == verdict(tolerance(dtype), dtype) == "exact"
        assert verdict(tolerance(dtype) * 2, dtype) == "approximate"
        assert verdict(broken(dtype), dtype) == "approximate"   # "broken" is strictly above
        assert verdict(broken(dtype) * 2, dtype) == verdict(math.inf, dtype) == "broken"
        assert verdict(math.nan, dtype) == "broken"              # a NaN never passes
    assert broken(torch.float64) == broken(torch.float32) == BROKEN
    assert broken(torch.bfloat16) > tolerance(torch.bfloat16)


def test_a_result_carries_its_verdict(dtype: torch.dtype) -> None:
    x = randn(4, 6, dtype=dtype)
    shifts = CyclicShift1d(6)
    assert equivariance_error(torch.tanh, x, shifts).verdict == "exact"
    assert equivariance_error(lambda z: z * torch.arange(6), x, shifts, elements=[1]).verdict == "broken"
    nudge = 1 + 10 * tolerance(dtype)       # more than rounding, far less than broken
    assert invariance_error(lambda z: z.sum(-1) * (nudge if z[0, 0] != x[0, 0] else 1), x, shifts,
                            elements=[1]).verdict == "approximate"
