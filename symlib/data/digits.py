"""scikit-learn's bundled 8×8 handwritten digits, with exact 90° rotations and mirror images.

1,797 images of the digits 0–9 (offline: the data ships with scikit-learn). Rotating an 8×8 image by
a multiple of 90° or mirroring it only moves pixels, so the transformed digits are exact, with no
interpolation: a rotation-equivariant model must treat them exactly alike.

Shapes: images ``[N, 1, 8, 8]`` float32 in ``[0, 1]``, labels ``[N]`` int64.

The same bits on every machine: the pixels are scikit-learn's integers divided by 16 (exact), and
every random choice (order, split, group elements) is an integer draw from torch's Mersenne Twister
(``randperm``, ``randint``); digests in :mod:`symlib.data.digests`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from symlib.groups import Dihedral4, Rot90

__all__ = ["NUM_IMAGES", "augmented_cross_entropy", "load", "random_transform", "shuffled", "transformed"]

NUM_IMAGES = 1797


@lru_cache(maxsize=4)
def _shuffled(seed: int) -> tuple[Tensor, Tensor]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    y = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(NUM_IMAGES, generator=torch.Generator().manual_seed(seed))
    return x[order], y[order]


def shuffled(seed: int = 0) -> tuple[Tensor, Tensor]:
    """All 1,797 images and labels in one seeded random order: ``(x [1797, 1, 8, 8], y [1797])``.
    Every split of the book is a slice of this order (:func:`load`, :func:`symlib.data.sets.digits`)."""
    x, y = _shuffled(seed)
    return x.clone(), y.clone()


def load(*, test_size: int = 500, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """A seeded random split into ``(train, test)``: the first ``test_size`` images of
    :func:`shuffled` are held out."""
    if not 0 < test_size < NUM_IMAGES:
        raise ValueError(f"test_size must be between 1 and {NUM_IMAGES - 1}, got {test_size}")
    x, y = shuffled(seed)
    return TensorDataset(x[test_size:], y[test_size:]), TensorDataset(x[:test_size], y[:test_size])


def transformed(data: TensorDataset, group: Rot90 | Dihedral4 | None = None) -> TensorDataset:
    """Every image in every orientation of ``group`` (default :class:`Rot90`): ``|G|·N`` images,
    ordered element by element (all images rotated by 0°, then by 90°, …)."""
    group = group if group is not None else Rot90()
    x, y = data.tensors
    return TensorDataset(torch.cat([group.act(g, x) for g in group.elements()]),
                         y.repeat(len(group.elements())))


def random_transform(x: Tensor, group: Rot90 | Dihedral4, generator: torch.Generator | None = None) -> Tensor:
    """Each image of ``x [N, C, s, s]`` transformed by its own random element of ``group``
    (data augmentation), drawn from ``generator`` (torch's global RNG if ``None``).

    Every element is applied to the whole batch and each image picks its own (``|G|`` cheap index
    permutations), so there is no data-dependent branch: the function traces under ``vmap`` and
    :func:`symlib.seeds.train_seeds` can train augmented models, each seed drawing its own elements."""
    elements = group.elements()
    which = torch.randint(len(elements), (x.shape[0],), generator=generator).to(x.device)
    every = torch.stack([group.act(g, x) for g in elements])                # [|G|, N, C, s, s]
    return every[which, torch.arange(x.shape[0], device=x.device)]


def augmented_cross_entropy(group: Rot90 | Dihedral4 | None = None, seed: int = 0
                            ) -> Callable[[nn.Module, Sequence[Tensor]], Tensor]:
    """A training loss for :func:`symlib.train.fit`: cross-entropy of ``model(x)`` against ``y`` for a
    batch ``(x, y)``. With ``group``, data augmentation: each image is first transformed by its own
    random element of ``group`` (:func:`random_transform`, from a generator seeded by ``seed``, so a
    run is reproducible)."""
    generator = torch.Generator().manual_seed(seed)

    def loss(model: nn.Module, batch: Sequence[Tensor]) -> Tensor:
        x, y = batch
        if group is not None:
            x = random_transform(x, group, generator)
        return F.cross_entropy(model(x), y)

    return loss
