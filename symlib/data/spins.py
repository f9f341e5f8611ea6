"""A periodic chain of Ising spins: the worked example of the design chapter.

``L`` spins ``s_i ∈ {-1, +1}`` on a ring (site ``L`` is site 0), with nearest- and next-nearest-
neighbour couplings and an external field:

.. math::  E(s) = -J_1 \\sum_i s_i s_{i+1} \\; - \\; J_2 \\sum_i s_i s_{i+2} \\; - \\; h \\sum_i s_i .

Its symmetries are those of the ring, cyclic shifts and reversal, for any couplings; flipping every
spin (``s ↦ -s``) changes only the field term, so it is a symmetry exactly when ``h = 0``. Under a
flip-invariant model the best possible prediction is the even part ``(E(s) + E(-s)) / 2``, and the
error it cannot remove is the odd part, ``h Σ_i s_i`` (:func:`odd_part`).

Shapes: configurations ``[N, L]`` float32 with values ±1; energies ``[N]``.

The same bits on every machine: spins are integer draws from torch's Mersenne Twister, and the
energies sums of ±1 products (exact in float32) times the couplings. Digests in
:mod:`symlib.data.digests`.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from symlib.groups import CyclicShift1d, Reversal, SignFlip, Trivial
from symlib.symmetry import Symmetry

__all__ = ["COUPLINGS", "configurations", "dataset", "energy", "odd_part", "symmetries"]

COUPLINGS = {"j1": 1.0, "j2": -0.5, "h": 0.3}


def _check(s: Tensor) -> None:
    if not isinstance(s, Tensor) or s.dim() != 2 or not s.is_floating_point():
        raise ValueError(f"spins must be a float tensor [N, L], got "
                         f"{tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__}")
    if s.shape[1] < 3:
        raise ValueError(f"a ring needs at least 3 sites for next-nearest neighbours, got {s.shape[1]}")


def energy(s: Tensor, *, j1: float = COUPLINGS["j1"], j2: float = COUPLINGS["j2"],
           h: float = COUPLINGS["h"]) -> Tensor:
    """``E(s)`` for each configuration (module docstring): ``[N, L]`` → ``[N]``."""
    _check(s)
    return -(j1 * (s * s.roll(-1, 1)).sum(1) + j2 * (s * s.roll(-2, 1)).sum(1) + h * s.sum(1))


def odd_part(s: Tensor, *, h: float = COUPLINGS["h"]) -> Tensor:
    """``(E(s) - E(-s)) / 2 = -h Σ_i s_i``: what no spin-flip-invariant model can predict. ``[N]``."""
    _check(s)
    return -h * s.sum(1)


def configurations(num: int, length: int, *, generator: torch.Generator) -> Tensor:
    """``num`` configurations of ``length`` independent, uniformly random spins: ``[num, length]``."""
    if num < 1 or length < 3:
        raise ValueError(f"need num >= 1 and length >= 3, got num={num}, length={length}")
    return torch.randint(0, 2, (num, length), generator=generator).float() * 2 - 1


def dataset(num: int, length: int = 16, *, seed: int = 0, **couplings: float) -> TensorDataset:
    """``(s [num, length], E [num])`` from a seeded generator."""
    unknown = set(couplings) - set(COUPLINGS)
    if unknown:
        raise ValueError(f"unknown couplings {sorted(unknown)}: expected some of {sorted(COUPLINGS)}")
    s = configurations(num, length, generator=torch.Generator().manual_seed(seed))
    return TensorDataset(s, energy(s, **couplings))


def symmetries(length: int) -> list[Symmetry]:
    """The candidate symmetries of a function of ring configurations ``[N, length]`` (an energy), as
    rows for :func:`symlib.audit.audit`: cyclic shifts and reversal (the ring's; :func:`energy` has
    both for any couplings) and the spin flip ``s ↦ −s`` (the energy's only when ``h = 0``); all
    invariances."""
    return [Symmetry("cyclic shift", CyclicShift1d(length), Trivial()),
            Symmetry("reversal", Reversal(), Trivial()),
            Symmetry("spin flip", SignFlip(), Trivial())]
