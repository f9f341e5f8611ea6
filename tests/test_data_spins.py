"""symlib.data.spins: the chain's energy, its symmetries, and the part a flip-invariant model cannot fit."""

from __future__ import annotations

import pytest
import torch

from symlib.data import spins
from symlib.equivariance import invariance_error, tolerance
from symlib.groups import CyclicShift1d, Reversal, SignFlip

from helpers import assert_broken

F64 = torch.float64


def test_energies_of_simple_configurations() -> None:
    up = torch.ones(1, 8)
    alternating = torch.tensor([[1.0, -1.0] * 4])
    assert spins.energy(up, j1=1.0, j2=-0.5, h=0.3).item() == pytest.approx(-(8 - 4 + 2.4))
    assert spins.energy(alternating, j1=1.0, j2=-0.5, h=0.3).item() == pytest.approx(8 + 4)


def test_ring_symmetries_hold_and_spin_flip_only_without_a_field() -> None:
    s = spins.configurations(50, 12, generator=torch.Generator().manual_seed(0)).to(F64)
    for action in (CyclicShift1d(12), Reversal()):
        assert invariance_error(spins.energy, s, action).max <= tolerance(F64)
    assert_broken(invariance_error(spins.energy, s, SignFlip()))
    assert invariance_error(lambda v: spins.energy(v, h=0.0), s, SignFlip()).max <= tolerance(F64)


def test_the_odd_part_is_what_a_flip_leaves() -> None:
    s = spins.configurations(20, 10, generator=torch.Generator().manual_seed(1))
    assert torch.allclose((spins.energy(s) - spins.energy(-s)) / 2, spins.odd_part(s))


def test_dataset_is_seeded_and_bad_input_is_named() -> None:
    a, b = spins.dataset(10, seed=3), spins.dataset(10, seed=3)
    assert torch.equal(a.tensors[0], b.tensors[0]) and set(a.tensors[0].unique().tolist()) <= {-1.0, 1.0}
    with pytest.raises(ValueError, match="unknown couplings"):
        spins.dataset(4, field=1.0)
    with pytest.raises(ValueError, match=r"float tensor \[N, L\]"):
        spins.energy(torch.ones(8))
    with pytest.raises(ValueError, match="at least 3 sites"):
        spins.energy(torch.ones(2, 2))
