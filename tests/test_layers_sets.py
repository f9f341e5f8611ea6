"""symlib.layers.sets: pooling, the equivariant layer and DeepSets on flat batches of sets of
different sizes, in float32 and float64, against slow per-set loops as oracles."""

from __future__ import annotations

from functools import partial
from unittest import mock

import pytest
import torch
from torch_geometric.data import Data

from symlib.equivariance import invariance_error
from symlib.groups import GraphPermutation, Permutation
from symlib.layers import mlp, sets
from symlib.layers.sets import (
    AGGREGATIONS,
    DeepSets,
    EquivariantSetLayer,
    PaddedMLP,
    check_sets,
    pool,
    to_padded,
)
from symlib.reps import symmetric
from symlib.solve import solve

from helpers import assert_broken, assert_equivariant, assert_invariant, assert_matches

pytestmark = pytest.mark.usefixtures("single_threaded_torch")
AGGRS = list(AGGREGATIONS)
SIZES = [3, 1, 5, 2]                      # sets of different sizes in one batch


def _sets(dtype: torch.dtype, features: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(sum(SIZES), features, generator=gen, dtype=dtype)
    batch = torch.repeat_interleave(torch.arange(len(SIZES)), torch.tensor(SIZES))
    return x, batch


def _per_set(x: torch.Tensor, batch: torch.Tensor) -> list[torch.Tensor]:
    return [x[batch == b] for b in range(int(batch.max()) + 1)]


@pytest.mark.parametrize("aggr", AGGRS)
def test_pool_matches_a_loop_over_sets(dtype: torch.dtype, aggr: str) -> None:
    x, batch = _sets(dtype)
    ref = torch.stack([getattr(s, "amax" if aggr == "max" else aggr)(dim=0)
                       for s in _per_set(x, batch)])
    assert_matches(pool(x, batch, aggr), ref, dtype=dtype)


def test_pool_without_batch_is_one_set_and_empty_sets_are_zero() -> None:
    x, _ = _sets(torch.float64)
    assert torch.allclose(pool(x), x.sum(0, keepdim=True))
    out = pool(x[:2], torch.tensor([0, 2]), "max", num_sets=4)
    assert out.shape == (4, 4) and torch.all(out[[1, 3]] == 0)


@pytest.mark.parametrize("aggr", AGGRS)
def test_equivariant_layer_matches_its_equation(dtype: torch.dtype, aggr: str) -> None:
    torch.manual_seed(0)
    layer = EquivariantSetLayer(4, 3, aggr=aggr).to(dtype)
    x, batch = _sets(dtype)
    ref = torch.cat([layer.lam(s) + layer.gamma(pool(s, aggr=aggr)) for s in _per_set(x, batch)])
    assert_matches(layer(x, batch), ref, dtype=dtype)


def _on_vectors(layer: EquivariantSetLayer, v: torch.Tensor) -> torch.Tensor:
    """A one-feature layer as a map from ``[n]`` to ``[n]`` (one set of n scalars)."""
    return layer(v[:, None])[:, 0]


def test_one_feature_sum_layer_is_the_solved_lambda_i_plus_gamma_11t() -> None:
    # With one feature, the layer's matrix on a set of n lies in the space the solver derives
    # for S_n (dimension 2: I and 11ᵀ), and spans it as the weights vary.
    n = 5
    basis = solve(symmetric(n), symmetric(n)).reshape(2, -1)            # orthonormal [2, n²]
    mats = []
    for seed in range(2):
        torch.manual_seed(seed)
        layer = EquivariantSetLayer(1, 1, bias=False).double()
        w = torch.func.jacrev(partial(_on_vectors, layer))(torch.zeros(n, dtype=torch.float64))
        lam, gam = layer.lam.weight.item(), layer.gamma.weight.item()
        assert torch.allclose(w, lam * torch.eye(n, dtype=torch.float64) + gam, atol=1e-14)
        mats.append(w.detach().reshape(-1))
    w = torch.stack(mats)
    assert float((w - (w @ basis.T) @ basis).norm()) < 1e-12           # in the span
    assert int(torch.linalg.matrix_rank(w)) == 2                       # and spans it


@pytest.mark.parametrize("aggr", AGGRS)
def test_layers_respect_relabelling_the_whole_batch(dtype: torch.dtype, aggr: str) -> None:
    # Reordering rows of x and batch together relabels every set's elements at once.
    torch.manual_seed(0)
    x, batch = _sets(dtype)
    data = Data(x=x, batch=batch)
    act = GraphPermutation(x.shape[0])
    layer = EquivariantSetLayer(4, 3, aggr=aggr).to(dtype)
    model = DeepSets(4, 2, hidden=8, aggr=aggr).to(dtype)
    assert_equivariant(lambda d: layer(d.x, d.batch), data, act, Permutation(x.shape[0]), dtype=dtype)
    assert_invariant(lambda d: model(d.x, d.batch), data, act, dtype=dtype)


def test_deepsets_batch_equals_one_set_at_a_time(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = DeepSets(4, 2, hidden=8, rho_layers=2).to(dtype)
    x, batch = _sets(dtype)
    ref = torch.cat([model(s) for s in _per_set(x, batch)])
    assert_matches(model(x, batch), ref, dtype=dtype)


def test_same_weights_on_any_set_size() -> None:
    torch.manual_seed(0)
    model = DeepSets(3, 1, hidden=8)
    n_params = sum(p.numel() for p in model.parameters())
    for n in (1, 10, 100):
        assert model(torch.randn(n, 3)).shape == (1, 1)
    assert sum(p.numel() for p in model.parameters()) == n_params


def test_sum_pooled_deepsets_is_additive_over_disjoint_sets() -> None:
    # with rho affine and sum pooling, f(A ∪ B) - b = (f(A) - b) + (f(B) - b)
    torch.manual_seed(0)
    model = DeepSets(3, 1, hidden=8).double()
    a, b = torch.randn(4, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    bias = model.rho[0].bias
    assert torch.allclose(model(torch.cat([a, b])) - bias, model(a) + model(b) - 2 * bias, atol=1e-12)


def test_padded_mlp_depends_on_order_and_size_limit() -> None:
    torch.manual_seed(0)
    model = PaddedMLP(4, 1, max_size=5, hidden=8).double()
    x, batch = _sets(torch.float64)
    data = Data(x=x, batch=batch)
    assert_broken(invariance_error(lambda d: model(d.x, d.batch), data, GraphPermutation(x.shape[0])))
    with pytest.raises(ValueError, match="more than max_size=5"):
        model(torch.randn(6, 4, dtype=torch.float64))


def test_to_padded_places_each_row_in_its_slot_for_any_row_order() -> None:
    x, batch = _sets(torch.float64)
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(1))
    padded, position = to_padded(x[perm], batch[perm], 5)
    assert torch.equal(padded[batch[perm], position], x[perm])
    assert padded.shape == (4, 5, 4) and int((padded.abs().sum(-1) > 0).sum()) == x.shape[0]


def test_mlp_sizes() -> None:
    net = mlp([3, 5, 2])
    assert [m.out_features for m in net if isinstance(m, torch.nn.Linear)] == [5, 2]
    assert isinstance(mlp([3, 2], final_activation=True)[-1], torch.nn.ReLU)
    with pytest.raises(ValueError):
        mlp([3])


@pytest.mark.parametrize("args,match", [
    ((torch.randn(5, 4), torch.zeros(4, dtype=torch.long)), "batch has 4 entries but x has 5 rows"),
    ((torch.randn(5, 3), torch.zeros(5, dtype=torch.long)), "expects 4 features"),
    ((torch.randn(5, 4), torch.zeros(5)), "LongTensor"),
    ((torch.randn(5, 4), torch.zeros(5, 1, dtype=torch.long)), "LongTensor"),
    ((torch.randn(5, 4), torch.tensor([0, 0, -1, 1, 1])), "negative"),
    ((torch.randn(5), torch.zeros(5, dtype=torch.long)), r"floating tensor \[N, F\]"),
    ((torch.zeros(5, 4, dtype=torch.long), torch.zeros(5, dtype=torch.long)), "floating"),
])
@pytest.mark.parametrize("make", [lambda: EquivariantSetLayer(4, 2), lambda: DeepSets(4, 1, hidden=4),
                                  lambda: PaddedMLP(4, 1, 5, hidden=4)])
def test_bad_inputs_are_named(make, args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()(*args)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_sets is 2"):
        check_sets(torch.randn(3, 2), torch.tensor([0, 1, 2]), num_sets=2)
    with pytest.raises(ValueError, match="empty batch needs num_sets"):
        pool(torch.randn(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown aggregation"):
        DeepSets(2, 1, aggr="median")
    with pytest.raises(ValueError, match="unknown aggregation"):
        pool(torch.randn(3, 2), aggr="prod")


# --- validation at the boundary: each call checks its inputs once ----------------------------------

@pytest.mark.parametrize("make", [lambda: EquivariantSetLayer(4, 2), lambda: DeepSets(4, 1, hidden=4),
                                  lambda: PaddedMLP(4, 1, 5, hidden=4)])
def test_each_call_checks_the_batch_once(make) -> None:
    """check_sets reads batch (a host sync on a GPU): once per call, not again when pooling or padding."""
    x, batch = _sets(torch.float32)
    with mock.patch.object(sets, "check_sets", wraps=sets.check_sets) as check:
        make()(x, batch)
    assert check.call_count == 1


def test_an_unchecked_layer_computes_the_same_and_a_checked_one_names_bad_input() -> None:
    torch.manual_seed(0)
    layer = EquivariantSetLayer(4, 3).double()
    assert layer.validate
    x, batch = _sets(torch.float64)
    checked = layer(x, batch)
    with pytest.raises(ValueError, match="EquivariantSetLayer: batch has negative set index -1"):
        layer(x, batch - 1)
    layer.validate = False                         # as a model that checked x and batch would set it
    with mock.patch.object(sets, "check_sets", wraps=sets.check_sets) as check:
        assert torch.equal(layer(x, batch), checked)
        assert torch.equal(layer(x, batch, num_sets=6), checked)          # two empty sets more
        assert torch.equal(layer(x[:0], batch[:0], num_sets=2), x.new_zeros(0, 3))
    assert check.call_count == 0
