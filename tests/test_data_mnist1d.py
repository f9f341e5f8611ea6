"""symlib.data.mnist1d: the offline MNIST-1D generator and the position-shuffling control."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from symlib.data.mnist1d import LENGTH, load, permute_positions, position_permutation

N = 200  # small: generating a signal takes ~0.6 ms


@pytest.fixture(scope="module")
def small() -> tuple[TensorDataset, TensorDataset]:
    return load(N, seed=3)


def test_shapes_dtypes_and_labels(small: tuple[TensorDataset, TensorDataset]) -> None:
    train, test = small
    (x, y), (x_test, y_test) = train.tensors, test.tensors
    assert x.shape == (160, LENGTH) and x_test.shape == (40, LENGTH)
    assert x.dtype == x_test.dtype == torch.float32
    assert y.shape == (160,) and y_test.shape == (40,) and y.dtype == y_test.dtype == torch.int64
    labels = torch.cat([y, y_test])
    assert torch.equal(torch.bincount(labels, minlength=10), torch.full((10,), N // 10))
    assert torch.isfinite(x).all() and torch.isfinite(x_test).all()
    everything = torch.cat([x, x_test]).double()
    assert abs(float(everything.mean())) < 1e-5 and abs(float(everything.std(unbiased=False)) - 1) < 1e-5


def test_deterministic_and_seeded(small: tuple[TensorDataset, TensorDataset]) -> None:
    again = load(N, seed=3)
    for a, b in zip(small, again):
        assert all(torch.equal(s, t) for s, t in zip(a.tensors, b.tensors))
    other = load(N, seed=4)
    assert not torch.equal(other[0].tensors[0], small[0].tensors[0])


def test_leaves_global_random_state_alone() -> None:
    random.seed(1)
    np.random.seed(1)
    expected = (random.random(), np.random.rand())
    random.seed(1)
    np.random.seed(1)
    load(20, seed=0)
    assert (random.random(), np.random.rand()) == expected


def test_train_split() -> None:
    """``train_split`` only moves the cut through one shuffled, standardised set of signals: the parts
    are disjoint, together they are the same signals in the same order for every split, and the
    result is the same on every call."""
    train, test = load(100, seed=0, train_split=0.5)
    assert len(train) == len(test) == 50
    (x, y), (x_test, y_test) = train.tensors, test.tensors
    assert not (x[:, None, :] == x_test[None, :, :]).all(-1).any()   # no signal in both parts
    everything = [torch.cat([x, x_test]), torch.cat([y, y_test])]
    assert torch.equal(torch.bincount(everything[1], minlength=10), torch.full((10,), 10))
    for split, n_train in [(0.8, 80), (0.33, 33)]:
        other_train, other_test = load(100, seed=0, train_split=split)
        assert len(other_train) == n_train and len(other_test) == 100 - n_train
        for a, b, whole in zip(other_train.tensors, other_test.tensors, everything):
            assert torch.equal(torch.cat([a, b]), whole)
    again_train, again_test = load(100, seed=0, train_split=0.5)
    assert all(torch.equal(a, b) for a, b in zip(again_train.tensors + again_test.tensors,
                                                 train.tensors + test.tensors))


def test_permutation_is_seeded_and_valid() -> None:
    perm = position_permutation(seed=0)
    assert perm.dtype == torch.int64 and torch.equal(perm.sort().values, torch.arange(LENGTH))
    assert torch.equal(perm, position_permutation(seed=0))
    assert not torch.equal(perm, position_permutation(seed=1))
    assert position_permutation(seed=5, length=7).shape == (7,)


def test_permutation_is_applied_consistently(small: tuple[TensorDataset, TensorDataset]) -> None:
    train, _ = small
    perm = position_permutation(seed=0)
    shuffled = permute_positions(train, perm)
    x, y = train.tensors
    xs, ys = shuffled.tensors
    assert torch.equal(ys, y)
    for j in range(LENGTH):  # the same reordering for every signal
        assert torch.equal(xs[:, j], x[:, perm[j]])
    inverse = torch.argsort(perm)
    assert torch.equal(permute_positions(shuffled, inverse).tensors[0], x)


@pytest.mark.parametrize("kwargs,match", [
    ({"num_samples": 0}, "num_samples"), ({"num_samples": 105}, "multiple of 10"),
    ({"num_samples": 100.0}, "num_samples"), ({"seed": -1}, "seed"), ({"seed": 2**32}, "seed"),
    ({"train_split": 1.0}, "train_split"), ({"train_split": 0.0}, "train_split"),
    ({"train_split": "0.8"}, "train_split"),
])
def test_bad_load_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load(**{"num_samples": 100, **kwargs})


def test_bad_permutations(small: tuple[TensorDataset, TensorDataset]) -> None:
    train, _ = small
    with pytest.raises(ValueError, match="permutation"):
        permute_positions(train, torch.zeros(LENGTH, dtype=torch.int64))
    with pytest.raises(ValueError, match="permutation"):
        permute_positions(train, torch.arange(LENGTH - 1))
    with pytest.raises(ValueError, match="tensor"):
        permute_positions(train, list(range(LENGTH)))
    with pytest.raises(ValueError, match=r"\[N, L\]"):
        permute_positions(TensorDataset(torch.zeros(2, 1, LENGTH)), torch.arange(LENGTH))
    with pytest.raises(ValueError, match="seed"):
        position_permutation(seed=-1)


def test_the_signals_are_the_packages_recipe_with_correctly_rounded_log_and_exp() -> None:
    """The replay makes the package's signals (its templates, seeded stream and operations), up to the
    last bits in which this machine's C library and numpy round log and exp differently."""
    from mnist1d.data import get_dataset_args, make_dataset

    from symlib.data.mnist1d import _make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = N, 3
    state = np.random.get_state()
    theirs = make_dataset(args)
    np.random.set_state(state)
    mine = _make_dataset(N, 3, 0.8)
    for key in ("x", "x_test", "y", "y_test"):
        assert mine[key].shape == theirs[key].shape
        np.testing.assert_allclose(mine[key], theirs[key], rtol=0, atol=1e-14)
