"""symlib.data.molecules: ring symmetries and orbits against brute force, the reaction rule; the
metrics of symlib.atom_scores."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from symlib.atom_scores import accuracy, orbit_spread, top_atoms
from symlib.data.molecules import (
    BOND,
    FIELD,
    MAX_ATOMS,
    orbit_cap,
    orbits,
    reactive_orbit,
    regular_ring,
    ring_molecules,
    ring_symmetries,
)

pytestmark = pytest.mark.usefixtures("single_threaded_torch")
C, N = 0, 1


def _brute_force_orbits(pos: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
    """Orbits under *all* permutations that keep types and every distance (slow oracle)."""
    n = len(types)
    d = torch.cdist(pos.double(), pos.double())
    equivalent = torch.eye(n, dtype=torch.bool)
    for p in itertools.permutations(range(n)):
        p = torch.tensor(p)
        if torch.equal(types[p], types) and torch.allclose(d[p][:, p], d, atol=1e-4):
            equivalent[torch.arange(n), p] = True              # i and p[i] are equivalent
    return torch.where(equivalent, torch.arange(n), n).min(dim=1).values


def test_regular_ring_geometry() -> None:
    for n in (3, 5, 8):
        ring = regular_ring(n)
        assert ring.shape == (n, 3) and ring.dtype == torch.float64
        sides = (ring - ring.roll(-1, 0)).norm(dim=1)
        assert torch.allclose(sides, torch.full((n,), BOND, dtype=torch.float64))
        assert torch.allclose(ring.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-12)
        assert torch.equal(ring[:, 2], torch.zeros(n, dtype=torch.float64))
    with pytest.raises(ValueError, match="at least 3"):
        regular_ring(2)


@pytest.mark.parametrize("types, order, expected", [
    ([C] * 6, 12, [0, 0, 0, 0, 0, 0]),
    ([N, C, C, C, C, C], 2, [0, 1, 2, 3, 2, 1]),
    ([N, C, C, N, C, C], 4, [0, 1, 1, 0, 1, 1]),
    ([N, C, N, C, C], 2, [0, 1, 0, 3, 3]),
    ([N, N, C, C, C, C, C], 2, [0, 0, 2, 3, 4, 3, 2]),
])
def test_ring_symmetries_and_orbits(types: list[int], order: int, expected: list[int]) -> None:
    t = torch.tensor(types)
    perms = ring_symmetries(t)
    assert perms.shape == (order, len(t)) and torch.equal(perms[0], torch.arange(len(t)))
    ring = regular_ring(len(t))
    d = torch.cdist(ring, ring)
    as_set = {tuple(p.tolist()) for p in perms}
    for p in perms:
        assert torch.equal(t[p], t) and torch.allclose(d[p][:, p], d)      # a symmetry
        for q in perms:
            assert tuple(q[p].tolist()) in as_set                         # closed: a group
    assert orbits(perms).tolist() == expected
    assert torch.equal(orbits(perms), _brute_force_orbits(ring, t))


def test_reactive_orbit_rule() -> None:
    assert reactive_orbit(torch.tensor([C] * 6)).all()                       # benzene: every carbon
    assert reactive_orbit(torch.tensor([N, C, C, C, C, C])).tolist() == [False] * 3 + [True] + [False] * 2
    assert reactive_orbit(torch.tensor([N, C, C, N, C, C])).sum() == 4        # pyrazine: four carbons
    assert reactive_orbit(torch.tensor([N] * 5)) is None                     # no carbon
    for n in (5, 6, 7, 8):                                                   # against a slow reference
        for k in (1, 2, 3):
            for where in itertools.combinations(range(n), k):
                t = torch.zeros(n, dtype=torch.long)
                t[list(where)] = N
                ring = regular_ring(n)
                r = [sum(float((ring[i] - ring[j]).norm()) for j in where) if t[i] == C else -math.inf
                     for i in range(n)]
                best = {i for i in range(n) if r[i] >= max(r) - 1e-9}
                orbit = orbits(ring_symmetries(t))
                one_orbit = len({int(orbit[i]) for i in best}) == 1 and \
                    best == {i for i in range(n) if orbit[i] == orbit[min(best)]}
                got = reactive_orbit(t)
                assert (got is None) == (not one_orbit)
                if got is not None:
                    assert set(got.nonzero().flatten().tolist()) == best


def test_ring_molecules_are_deterministic_and_well_formed() -> None:
    a, b = ring_molecules(200, seed=5), ring_molecules(200, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(vars(a).values(), vars(b).values()))
    assert not torch.equal(ring_molecules(200, seed=6).pos, a.pos)
    assert a.pos.shape == (200, MAX_ATOMS, 3) and a.pos.dtype == torch.float32
    assert a.types.dtype == a.target.dtype == a.orbit.dtype == torch.long and a.mask.dtype == torch.bool
    assert set(a.atoms.tolist()) <= {5, 6, 7, 8} and len(set(a.atoms.tolist())) == 4
    assert torch.equal(a.mask, torch.arange(MAX_ATOMS) < a.atoms[:, None])   # real atoms first
    assert bool((a.pos[~a.mask] == 0).all()) and bool((a.orbit[~a.mask] == -1).all())
    assert len(a[:10]) == 10 and torch.equal(a[:10].pos, a.pos[:10])
    assert a.dataset()[0][0].dtype == torch.float32


def test_every_molecule_is_a_rigidly_moved_regular_ring_with_the_right_label() -> None:
    mols = ring_molecules(300, seed=1, dtype=torch.float64)
    field = torch.tensor(FIELD, dtype=torch.float64)
    for m in range(len(mols)):
        n = int(mols.atoms[m])
        x, t, orbit = mols.pos[m, :n], mols.types[m, :n], mols.orbit[m, :n]
        ring = regular_ring(n)
        assert torch.allclose(torch.cdist(x, x).sort(1).values, torch.cdist(ring, ring).sort(1).values)
        target = int(mols.target[m])
        assert int(t[target]) == C
        members = orbit == orbit[target]
        assert int(members.sum()) == int(mols.orbit_size[m])
        along = (x - x.mean(0)) @ field
        assert target == int(along.masked_fill(~members, -math.inf).argmax())   # the field picks
        assert int(mols.order[m]) % int(members.sum()) == 0                     # orbit-stabiliser


def test_orbits_of_generated_molecules_match_brute_force() -> None:
    mols = ring_molecules(30, sizes=(5, 6), seed=2, dtype=torch.float64)
    for m in range(len(mols)):
        n = int(mols.atoms[m])
        assert torch.equal(mols.orbit[m, :n], _brute_force_orbits(mols.pos[m, :n], mols.types[m, :n]))


def test_cap_accuracy_and_spread_on_hand_examples() -> None:
    assert orbit_cap(torch.tensor([1, 2, 4])) == pytest.approx((1 + 0.5 + 0.25) / 3)
    mask = torch.tensor([[True, True, True, False], [True, True, True, True]])
    scores = torch.tensor([[1.0, 1.0, 0.0, 5.0], [0.0, 2.0, 1.0, 2.0 - 1e-7]])
    top = top_atoms(scores, mask)
    assert top.tolist() == [[True, True, False, False], [False, True, False, True]]  # padding ignored
    target = torch.tensor([0, 2])
    assert accuracy(scores, target, mask) == pytest.approx((0.5 + 0.0) / 2)
    orbit = torch.tensor([[0, 0, 2, -1], [0, 1, 1, 1]])
    assert accuracy(scores, target, mask, orbit=orbit) == pytest.approx((1.0 + 1.0) / 2)
    spread = orbit_spread(scores, orbit, mask)
    assert spread[0] == 0 and spread[1] == pytest.approx(1.0 / 2.0)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="num"):
        ring_molecules(0)
    with pytest.raises(ValueError, match="sizes"):
        ring_molecules(5, sizes=(9,))
    with pytest.raises(ValueError, match="max_hetero"):
        ring_molecules(5, sizes=(5,), max_hetero=5)
    with pytest.raises(ValueError, match="types"):
        ring_symmetries(torch.tensor([[0, 1, 0]]))
    with pytest.raises(ValueError, match="perms"):
        orbits(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="orbit sizes"):
        orbit_cap(torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="same shape"):
        top_atoms(torch.zeros(2, 3), torch.ones(2, 4, dtype=torch.bool))


def test_hexagons_are_regular_rings_with_their_sites_in_line() -> None:
    """Chapter 08's generation task: each ring a regular hexagon of radius 1 to 1.5 Å about its centre,
    turned by a rotation; its sites on the same rays at 1.75 × the radius; ρ² the squared site radius."""
    from symlib.data.molecules import hexagons

    rings = hexagons(50, seed=3)
    radius = (rings.ring - rings.centre[:, None]).norm(dim=-1)                       # [50, 6]
    assert torch.allclose(radius, radius[:, :1].expand(-1, 6), atol=1e-12)
    assert ((radius >= 1.0) & (radius <= 1.5)).all()
    assert torch.allclose(rings.sites - rings.centre[:, None], 1.75 * (rings.ring - rings.centre[:, None]),
                          atol=1e-12)
    assert torch.allclose(rings.rho2, (1.75 * radius[:, 0]) ** 2, atol=1e-12)
    eye = torch.eye(3, dtype=torch.float64).expand(50, 3, 3)
    assert torch.allclose(rings.turn @ rings.turn.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(rings.turn), torch.ones(50, dtype=torch.float64), atol=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(rings, hexagons(50, seed=3)))
    with pytest.raises(ValueError, match="n must be positive"):
        hexagons(0, seed=0)
