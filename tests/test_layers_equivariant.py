"""symlib.layers.equivariant: the solved layer against its classical counterparts.

Oracles: the group actions of :mod:`symlib.groups` (measured with :func:`equivariance_error`), the
DeepSets layer ``λx + γ·Σx + β`` for ``S_n``, and ``nn.Conv1d`` with circular padding for a 3-tap mask
on ``Z_n``.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from symlib.equivariance import equivariance_error, invariance_error, tolerance
from symlib.groups import CyclicShift1d, Dihedral4, Permutation, Rot90
from symlib.layers import count_parameters
from symlib.layers.equivariant import EquivariantLinear
from symlib.reps import cyclic, grid_rotations, so3_vectors, symmetric, tensor_product
from symlib.solve import solve

from helpers import assert_broken, assert_equivariant, assert_invariant, assert_matches

pytestmark = pytest.mark.usefixtures("single_threaded_torch")  # tiny tensors: see tests/conftest.py


def _randomize(layer: EquivariantLinear, seed: int) -> EquivariantLinear:
    """Random weights *and* a random (nonzero) bias: equivariance must hold for every parameter value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype))
    return layer


def _band_mask(n: int, r: int) -> Tensor:
    i = torch.arange(n)
    d = (i[:, None] - i[None, :]) % n
    return torch.minimum(d, n - d) <= r


# ---------------------------------------------------------------------------------------------
# cyclic shifts


@settings(max_examples=8)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_cyclic_layer_is_shift_equivariant(dtype: torch.dtype, seed: int) -> None:
    layer = _randomize(EquivariantLinear(cyclic(8), cyclic(8), dtype=dtype), seed)
    assert layer.weight.dtype == dtype and layer.basis.dtype == dtype
    x = torch.randn(3, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)
    result = assert_equivariant(layer, x, CyclicShift1d(8), dtype=dtype)
    assert result.exhaustive and len(result.errors) == 8


def test_a_generic_linear_layer_is_not_shift_equivariant(dtype: torch.dtype) -> None:
    """The check above can fail: a dense ``nn.Linear`` misses by far more than the tolerance."""
    torch.manual_seed(0)
    linear = nn.Linear(8, 8).to(dtype)
    x = torch.randn(3, 8, dtype=dtype)
    assert_broken(equivariance_error(linear, x, CyclicShift1d(8)))


def test_cyclic_layer_has_one_weight_per_shift_and_one_bias() -> None:
    layer = EquivariantLinear(cyclic(8), cyclic(8))
    assert layer.weight.shape == (8,) and layer.bias.shape == (1,)
    assert count_parameters(layer) == 9
    assert layer.matrix().shape == (8, 8)
    # the dense matrix is a circulant: entry (i, j) depends on (j - i) mod 8 only
    w = _randomize(layer, 1).matrix().detach()
    for k in range(8):
        assert torch.allclose(torch.roll(w, (k, k), dims=(0, 1)), w, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# sets: the DeepSets layer


def test_symmetric_layer_is_the_deepsets_layer(dtype: torch.dtype) -> None:
    n = 5
    layer = _randomize(EquivariantLinear(symmetric(n), symmetric(n), dtype=dtype), 0)
    assert layer.weight.numel() == 2 and layer.bias.numel() == 1
    assert count_parameters(layer) == 3
    # fit W = λ I + γ 11ᵀ by least squares and check the fit is exact
    w = layer.matrix().detach().double()
    eye, ones = torch.eye(n, dtype=torch.float64), torch.ones(n, n, dtype=torch.float64)
    design = torch.stack([eye, ones]).reshape(2, -1).T
    coeffs = torch.linalg.lstsq(design, w.reshape(-1, 1)).solution.flatten()
    lam, gamma = float(coeffs[0]), float(coeffs[1])
    assert_matches(lam * eye + gamma * ones, w, dtype=dtype)
    # the bias is one number broadcast over the set
    beta = (layer.bias @ layer.bias_basis).detach().double()
    assert torch.allclose(beta, beta[0].expand(n), atol=tolerance(dtype))
    x = torch.randn(4, n, dtype=torch.float64).to(dtype)
    deepsets = lam * x.double() + gamma * x.double().sum(-1, keepdim=True) + beta[0]
    assert_matches(layer(x), deepsets, dtype=dtype)
    assert_equivariant(layer, x, Permutation(n, dim=-1), dtype=dtype)


def test_symmetric_to_trivial_is_a_scaled_sum() -> None:
    n = 5
    layer = _randomize(EquivariantLinear(symmetric(n), symmetric(n).trivial(), dtype=torch.float64), 3)
    assert layer.matrix().shape == (1, n)
    assert layer.weight.numel() == 1 and layer.bias.numel() == 1
    w = layer.matrix().detach()
    assert torch.allclose(w, w[0, 0].expand(1, n), atol=1e-12)
    x = torch.randn(7, n, dtype=torch.float64)
    perm = torch.randperm(n)
    assert torch.allclose(layer(x[:, perm]), layer(x), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# locality: a 3-tap mask is a circular Conv1d


@settings(max_examples=5)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_three_tap_mask_is_a_circular_conv1d(dtype: torch.dtype, seed: int) -> None:
    n = 8
    layer = EquivariantLinear(cyclic(n), cyclic(n), support=_band_mask(n, 1), dtype=dtype)
    assert layer.weight.numel() == 3 and layer.bias.numel() == 1
    torch.manual_seed(seed)
    conv = nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular").double()
    assert count_parameters(conv) == count_parameters(layer)
    with torch.no_grad():
        # column j: the response to e_j, without the bias
        dense = conv(torch.eye(n, dtype=torch.float64)[:, None, :])[:, 0, :].T - conv.bias
        basis = layer.basis.double().reshape(3, -1).T                                       # [n·n, 3]
        coeffs = torch.linalg.lstsq(basis, dense.reshape(-1, 1)).solution.flatten()
        assert_matches(basis @ coeffs, dense.flatten())
        layer.weight.copy_(coeffs.to(dtype))
        # the invariant bias direction is 1/√n·(1, …, 1): a constant bias b is √n·b along it
        assert torch.allclose(layer.bias_basis.double(), torch.full((1, n), n ** -0.5, dtype=torch.float64))
        layer.bias.copy_((conv.bias * n ** 0.5).to(dtype))
        x = torch.randn(5, n, dtype=torch.float64)
        expected = conv(x[:, None, :])[:, 0, :]
        assert_matches(layer(x.to(dtype)), expected, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# other groups, through the same layer


@pytest.mark.parametrize(("flips", "action"), [(False, Rot90()), (True, Dihedral4())], ids=["C4", "D4"])
def test_grid_rotation_layer_is_equivariant_on_images(flips: bool, action: Rot90 | Dihedral4) -> None:
    k = 3
    rep = grid_rotations(k, flips=flips)
    layer = _randomize(EquivariantLinear(rep, rep, dtype=torch.float64), 5)

    def on_images(x: Tensor) -> Tensor:  # [..., k, k] → [..., k, k], row-major flattening
        return layer(x.flatten(-2)).unflatten(-1, (k, k))

    x = torch.randn(2, k, k, dtype=torch.float64)
    assert assert_equivariant(on_images, x, action, dtype=torch.float64).exhaustive


@settings(max_examples=8)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_so3_cross_product_layer_commutes_with_rotations(seed: int) -> None:
    v = so3_vectors()
    layer = _randomize(EquivariantLinear(tensor_product(v, v), v, dtype=torch.float64), seed)
    assert layer.weight.numel() == 1 and layer.bias.numel() == 0  # no vector is rotation invariant
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(3, generator=g, dtype=torch.float64)
    r = torch.linalg.matrix_exp(sum(t * a for t, a in zip(theta, v.algebra)))
    x = torch.randn(4, 9, generator=g, dtype=torch.float64)
    rotated_in = x @ torch.kron(r, r).T
    assert_matches(layer(rotated_in), layer(x) @ r.T)


# ---------------------------------------------------------------------------------------------
# the module's plumbing


def test_matrix_shape_and_basis_buffer() -> None:
    layer = EquivariantLinear(cyclic(6), cyclic(6).trivial(2))
    assert layer.matrix().shape == (2, 6)
    assert layer.basis.shape == (solve(cyclic(6), cyclic(6).trivial(2)).shape[0], 2, 6)
    assert layer(torch.randn(4, 3, 6)).shape == (4, 3, 2)  # leading dims are kept
    assert "basis" in dict(layer.named_buffers())
    assert "free_parameters=2" in repr(layer)


def test_gradients_reach_weight_and_bias() -> None:
    torch.manual_seed(0)
    layer = EquivariantLinear(symmetric(4), symmetric(4))
    x = torch.randn(3, 4)
    (layer(x) ** 2).sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None
    assert float(layer.weight.grad.abs().sum()) > 0 and float(layer.bias.grad.abs().sum()) > 0
    assert layer.basis.grad is None and not layer.basis.requires_grad  # the basis is fixed


def test_without_bias() -> None:
    layer = EquivariantLinear(cyclic(5), cyclic(5), bias=False)
    assert layer.bias is None and layer.bias_basis is None
    assert count_parameters(layer) == 5
    x = torch.randn(2, 5)
    assert torch.allclose(layer(x), x @ layer.matrix().T)


def test_wrong_input_size_raises() -> None:
    layer = EquivariantLinear(cyclic(8), cyclic(8))
    with pytest.raises(ValueError, match="expects"):
        layer(torch.randn(2, 7))
    with pytest.raises(ValueError, match="expects"):
        layer(torch.randn(8, 2))


def test_group_average_is_invariant_for_any_model() -> None:
    from symlib.groups import Euclidean3d, Reversal, SignFlip
    from symlib.layers.equivariant import GroupAverage

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    for action in (SignFlip(), Reversal()):
        assert_invariant(GroupAverage(mlp, action), x, action, dtype=torch.float64)
        assert_broken(invariance_error(mlp, x, action))
    with pytest.raises(ValueError, match="finite group"):
        GroupAverage(mlp, Euclidean3d())


def test_group_average_is_the_mean_over_the_transformed_inputs() -> None:
    """One batched call gives what |G| separate calls give: (1/|G|) Σ_g f(g·x), item by item."""
    from symlib.groups import CyclicShift1d
    from symlib.layers.equivariant import GroupAverage

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    x = torch.randn(5, 6, dtype=torch.float64)
    action = CyclicShift1d(6)
    by_hand = torch.stack([mlp(action.act(g, x)) for g in action.elements()]).mean(0)
    averaged = GroupAverage(mlp, action)(x)
    assert averaged.shape == (5, 2)
    assert_matches(averaged, by_hand, dtype=torch.float64)
