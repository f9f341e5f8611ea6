"""MNIST-1D (Greydanus 2020): ten 1D "digit" templates, padded, scaled, translated, sheared and
made noisy into signals of 40 samples, generated offline with the ``mnist1d`` package.

The dataset separates models by their spatial prior: an MLP reaches about 68% test accuracy, a small
CNN about 94%. Shuffling the 40 positions with one fixed permutation (the same for every signal)
destroys the locality a CNN relies on while leaving an MLP's task unchanged::

    train, test = load()                     # 4,000 / 1,000 signals, as in the paper
    perm = position_permutation(seed=0)      # [40]
    train_s, test_s = permute_positions(train, perm), permute_positions(test, perm)

**The same bits on every machine.** The signals follow the ``mnist1d`` package's own recipe
(``make_dataset``: its templates, arguments and seeded stream, draw for draw), but the package draws
its normals with numpy's legacy ``randn`` (the C library's ``log``) and smooths them with scipy's
Gaussian filter (numpy's ``exp``, whose vectorised versions differ between CPUs), so its float64
signals differ in the last bit between machines. :func:`load` replays it with every ``log`` and
``exp`` correctly rounded (:func:`symlib.portable.legacy_randn`,
:func:`symlib.portable.correctly_rounded`) and everything else in the package's order of correctly
rounded operations: the same bits everywhere, within 10⁻¹⁵ of the package's float64 signals on any
machine (tested) and, in float32, equal to them on the machine that committed the digest
(:mod:`symlib.data.digests`). The permutation is an integer ``randperm``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from symlib import portable

__all__ = ["LENGTH", "NUM_CLASSES", "load", "permute_positions", "position_permutation"]

#: Samples per signal and number of classes (the digits 0-9).
LENGTH, NUM_CLASSES = 40, 10


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)


def _gaussian_filter(x: np.ndarray, sigma: float = 2.0, truncate: float = 4.0) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(x, sigma)`` of a 1-D signal (mode ``"reflect"``), with the
    kernel's ``exp`` correctly rounded and the sum in scipy's order for a symmetric kernel:
    ``out[i] = x[i] w₀ + Σ_{j = r … 1} (x[i − j] + x[i + j]) w_j``, each operation correctly rounded."""
    r = int(truncate * sigma + 0.5)
    k = np.arange(-r, r + 1)
    phi = np.array([portable.correctly_rounded("exp", float(v)) for v in -0.5 / (sigma * sigma) * k ** 2])
    w = phi / phi.sum()
    padded, n = np.pad(x, r, mode="symmetric"), len(x)
    out = padded[r:r + n] * w[r]
    for j in range(r, 0, -1):
        out = out + (padded[r - j:r - j + n] + padded[r + j:r + j + n]) * w[r - j]
    return out


def _transform(x: np.ndarray, t: np.ndarray, args: Any, rng: np.random.RandomState) -> np.ndarray:
    """One signal of ``mnist1d.transform.transform``: the same draws from ``rng`` in the same order,
    normals by :func:`symlib.portable.legacy_randn` and the smoothing by :func:`_gaussian_filter`."""
    from mnist1d.transform import interpolate

    low, high = args.padding
    p = low + int(rng.random_sample() * (high - low + 1))
    new_x = interpolate(np.concatenate([x + 1e-8, np.zeros(p)]), args.template_len + args.padding[-1])
    new_x *= 1 + args.scale_coeff * (rng.random_sample() - 0.5)
    k = rng.choice(args.max_translation)
    new_x = np.concatenate([new_x[-k:], new_x[:-k]])
    mask = new_x != 0
    corr = _gaussian_filter(args.corr_noise_scale * portable.legacy_randn(rng, *new_x.shape))
    new_x = mask * new_x + (1 - mask) * corr
    new_x = new_x + args.iid_noise_scale * portable.legacy_randn(rng, *new_x.shape)
    coeff = args.shear_scale * (rng.random_sample() - 0.5)
    new_x = new_x - coeff * np.linspace(-0.5, 0.5, len(new_x))
    return interpolate(new_x, args.final_seq_length)


@functools.lru_cache(maxsize=4)
def _make_dataset(num_samples: int, seed: int, train_split: float) -> dict[str, np.ndarray]:
    """``mnist1d.data.make_dataset`` with these arguments (and the package's other defaults; not its
    shuffled-positions option), replayed from the same seeded stream with the same operations, but
    every ``log`` and ``exp`` correctly rounded. Kept for the process (a few seconds to make)."""
    from mnist1d.data import get_dataset_args, get_templates

    args = get_dataset_args()
    args.num_samples, args.seed, args.train_split = num_samples, seed, train_split
    templates, rng = get_templates(), np.random.RandomState(args.seed)
    per_class = args.num_samples // len(templates["y"])
    xs = [_transform(templates["x"][label], templates["t"], args, rng)
          for label in range(len(templates["y"])) for _ in range(per_class)]
    ys = [templates["y"][label] for label in range(len(templates["y"])) for _ in range(per_class)]
    order = rng.permutation(len(ys))
    xs, ys = np.stack(xs)[order], np.stack(ys)[order]
    xs = (xs - xs.mean()) / xs.std()
    split = int(len(ys) * args.train_split)
    return {"x": xs[:split], "x_test": xs[split:], "y": ys[:split], "y_test": ys[split:]}


def load(num_samples: int = 5000, seed: int = 42, *,
         train_split: float = 0.8) -> tuple[TensorDataset, TensorDataset]:
    """Generate MNIST-1D by the ``mnist1d`` package's recipe (never downloads; see the module's
    docstring) and split it.

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

    data = _make_dataset(num_samples, seed, float(train_split))

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
