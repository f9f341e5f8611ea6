"""Natural images for demonstrations, from the photographs bundled with scikit-learn (offline).

Not random, but decoded and resized: the JPEG is decoded by Pillow's libjpeg and averaged over
areas by torch, both deterministic for given library versions; the digest in
:mod:`symlib.data.digests` checks the result on every machine that runs the tests (the same under
torch's portable and vectorised kernels here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from symlib.groups import CyclicShift2d, Rot90, Trivial
from symlib.symmetry import Symmetry

__all__ = ["PHOTOS", "photo", "symmetries"]

PHOTOS = ("china.jpg", "flower.jpg")


def photo(size: int = 64, *, name: str = "china.jpg", gray: bool = True,
          dtype: torch.dtype = torch.float32) -> Tensor:
    """A square crop of one of scikit-learn's sample photographs, resized with area averaging.

    Args:
        size: output side in pixels (at most 427, the photographs' height).
        name: ``"china.jpg"`` or ``"flower.jpg"``.
        gray: average the colour channels into one.

    Returns:
        ``[1, C, size, size]`` with ``C = 1`` (gray) or ``3``, values in ``[0, 1]``.
    """
    from sklearn.datasets import load_sample_image

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}: expected one of {PHOTOS}")
    if not 1 <= size <= 427:
        raise ValueError(f"size must be between 1 and 427 pixels, got {size}")
    img = torch.tensor(load_sample_image(name)).permute(2, 0, 1).to(torch.float64) / 255  # [3, 427, 640]
    side = img.shape[1]
    left = (img.shape[2] - side) // 2
    img = img[:, :, left:left + side]                                  # centre square crop
    img = F.interpolate(img[None], size=(size, size), mode="area")     # [1, 3, size, size]
    if gray:
        img = img.mean(dim=1, keepdim=True)
    return img.to(dtype)


def symmetries(height: int, width: int | None = None) -> list[Symmetry]:
    """What a classifier of ``[B, C, H, W]`` images could be invariant to, as rows for
    :func:`symlib.audit.audit`: cyclic translations (all ``H·W``) and rotations by 90° (square images
    only)."""
    width = height if width is None else width
    rows = [Symmetry("translation", CyclicShift2d(height, width), Trivial())]
    if height == width:
        rows.append(Symmetry("rotation by 90°", Rot90(), Trivial()))
    return rows
