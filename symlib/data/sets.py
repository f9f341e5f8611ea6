"""Sets of handwritten digits whose label is the sum of the digits (the DeepSets digit-sum task).

Zaheer et al. (2017) build sets of MNIST images and ask for the sum of their digits. Here the
images are scikit-learn's bundled ``load_digits`` (1,797 images of 8×8 pixels, values 0–16; no
download). The images are split once, by a fixed seeded permutation, into a training pool and a
test pool, so test sets are made of images no training set contains.

A set is a torch_geometric ``Data`` with ``x [n, 64]`` (pixels scaled to ``[0, 1]``), ``y [1]``
(the sum, float32) and ``digits [n]`` (the digit of each image, int64). A list of them is what
:func:`symlib.train.fit` batches with ``Batch.from_data_list``; :func:`flatten` gives the flat
convention of :mod:`symlib.layers.sets` (``x [N, 64]``, ``batch [N]``, ``y [B]``) directly.

The same bits on every machine: the images are :mod:`symlib.data.digits`' and every choice is an
integer draw from torch's Mersenne Twister; sums of digits are exact. Digests in
:mod:`symlib.data.digests`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from symlib.data.digits import shuffled
from symlib.groups import Permutation, Trivial
from symlib.symmetry import Symmetry

__all__ = ["SPLITS", "TRAIN_IMAGES", "digit_images", "digit_sets", "flatten", "symmetries"]

#: Images in the training pool; the remaining 797 of the 1,797 form the test pool.
TRAIN_IMAGES = 1_000
SPLITS = ("train", "test")
_SPLIT_SEED = 0


def _all_digits() -> tuple[Tensor, Tensor]:
    x, y = shuffled(_SPLIT_SEED)                                            # the book's one order
    return x.flatten(1), y                                                  # [1797, 64] in [0, 1]


def digit_images(split: str = "train") -> tuple[Tensor, Tensor]:
    """The images of one pool: ``(x [M, 64] float32 in [0, 1], digit [M] int64)``.

    ``split="train"`` gives 1,000 images, ``"test"`` the other 797; the two are disjoint.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(map(repr, SPLITS))}")
    x, y = _all_digits()
    part = slice(0, TRAIN_IMAGES) if split == "train" else slice(TRAIN_IMAGES, None)
    return x[part], y[part]            # _all_digits returns a fresh copy: nobody else holds these


def digit_sets(num_sets: int, sizes: int | tuple[int, int] = (1, 10), *, split: str = "train",
               seed: int = 0) -> list:
    """``num_sets`` random sets of digit images, each labelled with the sum of its digits.

    Args:
        num_sets: how many sets.
        sizes: a set size, or ``(low, high)``: sizes drawn uniformly from ``low … high`` inclusive.
        split: draw images from the ``"train"`` or the ``"test"`` pool.
        seed: the random stream (sizes and images, drawn with replacement); same seed, same sets.

    Returns:
        a list of ``Data(x=[n, 64], y=[1] float32 sum, digits=[n] int64)``.
    """
    from torch_geometric.data import Data

    low, high = (sizes, sizes) if isinstance(sizes, int) else sizes
    if not 1 <= low <= high:
        raise ValueError(f"set sizes must satisfy 1 <= low <= high, got {sizes}")
    if num_sets < 1:
        raise ValueError(f"num_sets must be positive, got {num_sets}")
    x, y = digit_images(split)
    gen = torch.Generator().manual_seed(seed)
    n = torch.randint(low, high + 1, (num_sets,), generator=gen)
    picks = torch.randint(len(y), (int(n.sum()),), generator=gen).split(n.tolist())
    return [Data(x=x[p], y=y[p].sum().float().view(1), digits=y[p]) for p in picks]


def flatten(sets: Sequence) -> tuple[Tensor, Tensor, Tensor]:
    """A list of sets in the flat convention: ``(x [N, 64], batch [N], y [B])``."""
    from torch_geometric.data import Batch

    if len(sets) == 0:
        raise ValueError("flatten needs at least one set")
    b = Batch.from_data_list(list(sets))
    return b.x, b.batch, b.y


def symmetries(n: int) -> list[Symmetry]:
    """What a function of one set of ``n`` elements ``[n, d]`` could be invariant to, as rows for
    :func:`symlib.audit.audit`: reordering."""
    return [Symmetry("permutation", Permutation(n), Trivial())]
