"""MNIST-1D (Greydanus 2020): ten 1D "digit" templates, padded, scaled, translated, sheared and
made noisy into signals of 40 samples, generated offline with the ``mnist1d`` package.

The dataset separates models by their spatial prior: an MLP reaches about 68% test accuracy, a small
CNN about 94%. Shuffling the 40 positions with one fixed permutation (the same for every signal)
destroys the locality a CNN relies on while leaving an MLP's task unchanged::

    train, test = load()                     # 4,000 / 1,000 signals, as in the paper
    perm = position_permutation(seed=0)      # [40]
    train_s, test_s = permute_positions(train, perm), permute_positions(test, perm)

**Portability, by measurement rather than construction.** The signals are the ``mnist1d`` package's
own (``make_dataset``, the published recipe): it draws with numpy's legacy ``randn`` and smooths with
scipy's Gaussian filter, so its float64 intermediates go through the C library's ``log`` and numpy's
``exp``, which differ in the last bit between machines. The stored dataset is float32, and a
last-bit difference in float64 changes a float32 value only when it straddles a rounding boundary
(a chance of the order of 2⁻²⁹ per value); the digest in :mod:`symlib.data.digests` checks the
float32 result on every machine that runs the tests, and it is the same here under numpy's AVX-512
and AVX2 code paths. The permutation is an integer ``randperm``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

__all__ = ["LENGTH", "NUM_CLASSES", "load", "permute_positions", "position_permutation"]

#: Samples per signal and number of classes (the digits 0-9).
LENGTH, NUM_CLASSES = 40, 10


@contextmanager
def _keep_global_rng() -> Iterator[None]:
    """``mnist1d`` seeds Python's and NumPy's global generators; restore them afterwards, so that
    loading data never changes the random numbers a chapter draws next."""
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)


def load(num_samples: int = 5000, seed: int = 42, *,
         train_split: float = 0.8) -> tuple[TensorDataset, TensorDataset]:
    """Generate MNIST-1D with ``mnist1d.data.make_dataset`` (never downloads) and split it.

    The defaults are the dataset's published ones (5,000 signals, 80% for training, seed 42).
    The result is a pure function of the arguments, and Python's and NumPy's global random states
    are left as they were.

    Args:
        num_samples: total number of signals, a positive multiple of 10 (the same count per digit).
        seed: the generator's seed, ``0 <= seed < 2**32``.
        train_split: fraction of the (shuffled) signals used for training; both parts non-empty.

    Returns:
        ``(train, test)``, two ``TensorDataset(x, y)`` with ``x`` float32 ``[N, 40]`` (standardised
        over the whole dataset: mean 0, standard deviation 1) and ``y`` int64 ``[N]`` in ``0..9``.

    Raises:
        ValueError: an argument out of range (the message names it).
    """
    from mnist1d.data import get_dataset_args, make_dataset

    num_samples = _check_int("num_samples", num_samples, NUM_CLASSES)
    if num_samples % NUM_CLASSES:
        raise ValueError(f"num_samples must be a multiple of {NUM_CLASSES} (the same number of "
                         f"signals per digit), got {num_samples}")
    seed = _check_int("seed", seed, 0, 2**32 - 1)
    if not isinstance(train_split, (int, float)) or isinstance(train_split, bool):
        raise ValueError(f"train_split must be a float, got {type(train_split).__name__}")
    n_train = int(num_samples * train_split)  # the split make_dataset makes
    if not 0 < n_train < num_samples:
        raise ValueError(f"train_split={train_split} leaves an empty train or test set "
                         f"of {num_samples} signals")

    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = num_samples, seed, float(train_split)
    with _keep_global_rng():
        data = make_dataset(args)

    def as_dataset(x: np.ndarray, y: np.ndarray) -> TensorDataset:
        return TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64))

    return as_dataset(data["x"], data["y"]), as_dataset(data["x_test"], data["y_test"])


def position_permutation(seed: int = 0, length: int = LENGTH) -> Tensor:
    """A fixed random permutation of ``range(length)``, a pure function of ``seed``: int64 ``[length]``."""
    seed = _check_int("seed", seed, 0)
    length = _check_int("length", length, 1)
    return torch.randperm(length, generator=torch.Generator().manual_seed(seed))


def permute_positions(data: TensorDataset, perm: Tensor) -> TensorDataset:
    """The same dataset with the positions of every signal reordered by ``perm``:
    ``x_new[:, j] = x[:, perm[j]]``; labels unchanged.

    Use one ``perm`` for the training and the test set: the task stays the same, only the
    neighbourhood structure of the signal is scrambled.

    Args:
        data: ``TensorDataset(x, y)`` with ``x`` of shape ``[N, L]``.
        perm: a permutation of ``range(L)``, integer ``[L]``.
    """
    x, *rest = data.tensors
    if x.ndim != 2:
        raise ValueError(f"expected signals of shape [N, L], got {tuple(x.shape)}")
    if not isinstance(perm, Tensor):
        raise ValueError(f"perm must be a tensor, got {type(perm).__name__}")
    if (perm.ndim != 1 or perm.dtype not in (torch.int32, torch.int64)
            or not torch.equal(perm.sort().values, torch.arange(x.shape[1]))):
        raise ValueError(f"perm must be a permutation of range({x.shape[1]}), got {perm.tolist()}")
    return TensorDataset(x[:, perm], *rest)
