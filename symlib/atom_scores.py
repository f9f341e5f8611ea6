"""Reading a model's per-atom scores: which atoms are tied for first place, the expected accuracy of
that choice (exactly, or up to the molecule's symmetry), and how far apart equivalent atoms score.

Scores are ``[M, N]`` for ``M`` molecules padded to ``N`` atoms, with ``mask [M, N]`` (bool, ``True``
= the atom exists); orbits ``[M, N]`` give each atom the index of its symmetry class
(:mod:`symlib.data.molecules`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["accuracy", "orbit_spread", "top_atoms"]


def top_atoms(scores: Tensor, mask: Tensor, rtol: float = 1e-4) -> Tensor:
    """``[M, N]`` bool: the atoms whose score is within ``rtol · max_i |s_i|`` of the best score
    of their molecule, i.e. tied for first place (padding is never chosen).

    ``scores [M, N]`` (padding entries are ignored), ``mask [M, N]`` bool.
    """
    if scores.shape != mask.shape or mask.dtype != torch.bool:
        raise ValueError(f"scores and a bool mask must have the same shape [M, N], got "
                         f"{tuple(scores.shape)} and {mask.dtype} {tuple(mask.shape)}")
    s = scores.detach().double().masked_fill(~mask, -math.inf)
    best = s.max(dim=1, keepdim=True).values
    scale = s.masked_fill(~mask, 0.0).abs().max(dim=1, keepdim=True).values.clamp_min(1e-30)
    return mask & (s >= best - rtol * scale)


def accuracy(scores: Tensor, target: Tensor, mask: Tensor, rtol: float = 1e-4, *,
             orbit: Tensor | None = None) -> float:
    """Expected accuracy when the tied first places (:func:`top_atoms`) are broken uniformly at
    random: ``mean_m |top_m ∩ right_m| / |top_m|``, where ``right_m`` is the reacting atom, or, if
    ``orbit [M, N]`` is given, every atom of its orbit (accuracy *up to the symmetry*)."""
    top = top_atoms(scores, mask, rtol)
    target = target.to(top.device)[:, None]
    if orbit is None:
        right = torch.zeros_like(top).scatter_(1, target, True)
    else:
        right = orbit.to(top.device) == orbit.to(top.device).gather(1, target)
    return float(((top & right).sum(dim=1).double() / top.sum(dim=1).double()).mean())


def orbit_spread(scores: Tensor, orbit: Tensor, mask: Tensor) -> Tensor:
    """``[M]``: for each molecule, the largest difference between the scores of two equivalent
    atoms, relative to the largest ``|score|`` of the molecule. Zero for a model that cannot tell
    equivalent atoms apart; rounding noise (``~1e-7`` in float32) for one that cannot in exact
    arithmetic."""
    s = scores.detach().double()
    same = (orbit[:, :, None] == orbit[:, None, :]) & mask[:, :, None] & mask[:, None, :]
    diff = (s[:, :, None] - s[:, None, :]).abs().masked_fill(~same, 0.0)
    scale = s.masked_fill(~mask, 0.0).abs().amax(dim=1).clamp_min(1e-30)
    return diff.flatten(1).amax(dim=1) / scale
