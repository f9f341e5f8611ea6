"""Symmetric ring molecules and a per-atom task whose answer singles out one of equivalent atoms.

A **ring molecule** here is a planar ring of ``n`` atoms (``n`` = 5 … 8) at the corners of a
regular ``n``-gon with bond length 1.4 Å, each atom a carbon (type 0) or a nitrogen (type 1),
placed in 3D space with a random rotation and translation. Its **symmetries** are the
permutations of its atoms that an isometry of the molecule induces: the rotations and reflections
of the ring (the dihedral group ``D_n``) that send every atom to an atom of the same element. They
are also the automorphisms of the ring's labelled graph, so the same analysis holds for a graph
network on the bond graph. Atoms that a symmetry maps onto each other form an **orbit**: benzene
(six carbons) has one orbit of six atoms, pyridine (one nitrogen) has orbits of sizes 1, 2, 2, 1.

**The task: which atom reacts?** A toy rule in two steps.

1. *Chemistry* picks an orbit. The reactive carbons are those farthest from the nitrogens: the
   carbons ``i`` that maximise :math:`r_i = \\sum_{j \\in \\mathrm{N}} \\lVert x_i - x_j \\rVert`
   (every carbon of an all-carbon ring). The generator uses only placements of the nitrogens for
   which these carbons are exactly one orbit, so the rule always names one orbit.
2. *An external field* picks the atom. The molecule sits in a field along the lab's ``z`` axis
   (:data:`FIELD`); of the reactive orbit, the atom with the largest
   :math:`(x_i - \\bar x) \\cdot F` reacts.

Step 1 is invariant under rotations, translations and relabellings of the atoms; step 2 is not,
and on a symmetric ring nothing in the molecule itself tells the equivalent atoms apart. A model
whose per-atom scores are invariant to rigid motions and equivariant to relabellings gives every
atom of an orbit the same score, so with ties broken at random it finds the reacting atom with
probability at most ``1 / |orbit|``: :func:`orbit_cap` averages this over molecules.

Molecules of different sizes are padded to 8 atoms: ``pos [M, 8, 3]``, ``types [M, 8]``,
``mask [M, 8]`` (``True`` = a real atom). Atoms are listed in a random order, so an atom's index
carries no meaning. Nothing is downloaded.

The molecules are the same bits on every machine: integer and uniform draws from torch's generator,
rotations, normals and the ring's ``sin``/``cos`` from :mod:`symlib.portable`, and rotations applied
by :func:`symlib.portable.rotate`, not by a BLAS matrix product (digests in :mod:`symlib.data.digests`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from symlib import portable
from symlib.geometry import random_rotations
from symlib.groups import Euclidean3d, Permutation, Product, Trivial
from symlib.symmetry import Symmetry

__all__ = ["BOND", "ELEMENTS", "FIELD", "Hexagons", "MAX_ATOMS", "RingMolecules", "hexagons", "orbit_cap",
           "orbits", "reactive_orbit", "regular_ring", "ring_molecules", "ring_symmetries", "symmetries"]

#: Bond length of the rings, in Å (about an aromatic C–C bond).
BOND = 1.4
#: Atom types: index 0 is carbon, 1 nitrogen.
ELEMENTS = ("C", "N")
#: The external field: a unit vector along the lab's z axis.
FIELD = (0.0, 0.0, 1.0)
#: Rings are padded to this many atoms.
MAX_ATOMS = 8


def regular_ring(n: int, bond: float = BOND, dtype: torch.dtype = torch.float64) -> Tensor:
    """Corners of a regular ``n``-gon with side ``bond`` in the ``xy`` plane, centred at 0:
    atom ``i`` at angle ``2πi/n``. Returns ``[n, 3]``."""
    if n < 3:
        raise ValueError(f"a ring needs at least 3 atoms, got n={n}")
    radius = bond / (2 * portable.sincos(torch.tensor(math.pi / n, dtype=torch.float64))[0])
    sin, cos = portable.sincos(2 * math.pi * torch.arange(n, dtype=torch.float64) / n)
    ring = torch.stack([radius * cos, radius * sin, torch.zeros(n, dtype=torch.float64)], -1)
    return ring.to(dtype)


def ring_symmetries(types: Tensor) -> Tensor:
    """The symmetries of a ring whose atom ``i`` (in ring order) has type ``types[i]``.

    Returns the permutations ``p`` (rows of a ``LongTensor [|G|, n]``, the identity first) among
    the ``2n`` rotations ``i ↦ i + k`` and reflections ``i ↦ k − i`` (mod ``n``) of the ring that
    keep every type: ``types[p] == types``. As everywhere in symlib, ``p`` acts by
    ``(p·x)[i] = x[p[i]]``.
    """
    if types.dim() != 1 or types.numel() < 3:
        raise ValueError(f"types must be [n] with n ≥ 3, got shape {tuple(types.shape)}")
    n = types.numel()
    i = torch.arange(n)
    candidates = [(i + k) % n for k in range(n)] + [(k - i) % n for k in range(n)]
    kept = {tuple(p.tolist()): p for p in candidates if torch.equal(types[p], types)}
    return torch.stack(list(kept.values()))


def orbits(perms: Tensor) -> Tensor:
    """Orbit of each atom under a group of permutations ``[|G|, n]``: ``[n]``, each atom labelled by
    the smallest atom index in its orbit (the orbit of ``i`` is ``{p[i] : p ∈ G}``)."""
    if perms.dim() != 2 or perms.dtype != torch.long:
        raise ValueError(f"perms must be a LongTensor [|G|, n], got {perms.dtype} {tuple(perms.shape)}")
    return perms.min(dim=0).values


def reactive_orbit(types: Tensor, bond: float = BOND) -> Tensor | None:
    """The atoms (in ring order) of the reactive orbit of the ring with these types: a bool
    ``[n]``, or ``None`` when the most reactive carbons are not exactly one orbit (or there is
    no carbon). Reactivity of carbon ``i``: ``Σ_{j ∈ N} ‖x_i − x_j‖`` (see the module docstring)."""
    ring = regular_ring(types.numel(), bond)
    nitrogen = types == 1
    r = torch.cdist(ring, ring)[:, nitrogen].sum(dim=1)
    r[nitrogen] = -math.inf
    if nitrogen.all():
        return None
    best = r >= r.max() - 1e-9
    orbit = orbits(ring_symmetries(types))
    same = orbit == orbit[best.nonzero()[0, 0]]
    return best if torch.equal(best, same) else None


@cache
def _patterns(n: int, hetero: int
              ) -> tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[bool, ...], int], ...]:
    """All rings of ``n`` atoms with ``hetero`` nitrogens whose rule names one orbit:
    ``(types, orbit ids, reactive, number of symmetries)`` in ring order."""
    out = []
    for where in itertools.combinations(range(n), hetero):
        types = torch.zeros(n, dtype=torch.long)
        types[list(where)] = 1
        reactive = reactive_orbit(types)
        if reactive is not None:
            perms = ring_symmetries(types)
            out.append((tuple(types.tolist()), tuple(orbits(perms).tolist()),
                        tuple(reactive.tolist()), perms.shape[0]))
    return tuple(out)


@dataclass(frozen=True)
class RingMolecules:
    """A batch of ring molecules and their reacting atoms (see the module docstring).

    Attributes:
        pos: ``[M, 8, 3]`` coordinates in Å (zeros on padding).
        types: ``[M, 8]`` long, 0 = C, 1 = N (0 on padding).
        mask: ``[M, 8]`` bool, ``True`` for real atoms.
        target: ``[M]`` long, the index of the atom that reacts.
        orbit: ``[M, 8]`` long, the orbit of each atom under the molecule's symmetries, named by
            its smallest atom index (−1 on padding).
        order: ``[M]`` long, the number of symmetries of each molecule.
    """

    pos: Tensor
    types: Tensor
    mask: Tensor
    target: Tensor
    orbit: Tensor
    order: Tensor

    def __len__(self) -> int:
        return self.pos.shape[0]

    def __getitem__(self, idx: slice | Tensor) -> RingMolecules:
        return RingMolecules(*(t[idx] for t in (self.pos, self.types, self.mask, self.target,
                                                 self.orbit, self.order)))

    @property
    def atoms(self) -> Tensor:
        """``[M]``: the number of atoms of each molecule."""
        return self.mask.sum(dim=1)

    @property
    def orbit_size(self) -> Tensor:
        """``[M]``: the size of the reacting atom's orbit."""
        target_orbit = self.orbit.gather(1, self.target[:, None])
        return (self.orbit == target_orbit).sum(dim=1)

    def dataset(self, dtype: torch.dtype = torch.float32) -> TensorDataset:
        """``(pos, types, mask, target)`` as a ``TensorDataset`` for :func:`symlib.train.fit`."""
        return TensorDataset(self.pos.to(dtype), self.types, self.mask, self.target)


def ring_molecules(num: int, *, sizes: tuple[int, ...] = (5, 6, 7, 8), max_hetero: int = 2,
                   seed: int = 0, dtype: torch.dtype = torch.float32) -> RingMolecules:
    """``num`` random ring molecules labelled with the atom that reacts.

    Each molecule: a ring size drawn uniformly from ``sizes``, a number of nitrogens uniformly from
    ``0 … max_hetero``, then uniformly one of the placements of the nitrogens for which the rule
    names one orbit; a uniformly random rotation, a translation drawn from ``N(0, I)``, and a random
    order of the atoms. Deterministic given ``seed``.
    """
    if num < 1:
        raise ValueError(f"num must be positive, got {num}")
    if not sizes or any(not 3 <= n <= MAX_ATOMS for n in sizes):
        raise ValueError(f"ring sizes must lie in 3 … {MAX_ATOMS}, got {sizes}")
    if not 0 <= max_hetero < min(sizes):
        raise ValueError(f"max_hetero must be in 0 … {min(sizes) - 1}, got {max_hetero}")
    gen = torch.Generator().manual_seed(seed)
    size_idx = torch.randint(len(sizes), (num,), generator=gen)
    hetero = torch.randint(max_hetero + 1, (num,), generator=gen)
    choice = torch.rand(num, generator=gen, dtype=torch.float64)
    rot, shift = random_rotations(num, gen), portable.randn(num, 3, generator=gen, dtype=torch.float64)
    order_keys = torch.rand(num, MAX_ATOMS, generator=gen)
    field = torch.tensor(FIELD, dtype=torch.float64)

    pos = torch.zeros(num, MAX_ATOMS, 3, dtype=torch.float64)
    types = torch.zeros(num, MAX_ATOMS, dtype=torch.long)
    mask = torch.zeros(num, MAX_ATOMS, dtype=torch.bool)
    orbit = torch.full((num, MAX_ATOMS), -1, dtype=torch.long)
    target = torch.zeros(num, dtype=torch.long)
    order = torch.zeros(num, dtype=torch.long)
    for s, n in enumerate(sizes):                                    # all molecules of one size at once
        ms = (size_idx == s).nonzero().squeeze(1)
        if ms.numel() == 0:
            continue
        table = [_patterns(n, k) for k in range(max_hetero + 1)]
        if not all(table):
            raise ValueError(f"some numbers of nitrogens 0 … {max_hetero} have no valid {n}-ring")
        picked = [table[int(k)][int(u * len(table[int(k)]))] for k, u in zip(hetero[ms], choice[ms])]
        t, o, reactive = (torch.tensor([p[i] for p in picked]) for i in range(3))  # [m, n], ring order
        perm = torch.argsort(order_keys[ms, :n], dim=1)              # listed atom k = ring atom perm[k]
        x = portable.rotate(regular_ring(n), rot[ms, None])            # [m, n, 3]: x Rᵀ
        ring_target = torch.where(reactive, x @ field, -math.inf).argmax(dim=1)
        listed_orbit = o.gather(1, perm)
        same = listed_orbit[:, :, None] == listed_orbit[:, None, :]   # listed atoms k, l equivalent
        pos[ms, :n] = x.gather(1, perm[:, :, None].expand(-1, -1, 3)) + shift[ms, None]
        types[ms, :n], mask[ms, :n] = t.gather(1, perm), True
        orbit[ms, :n] = torch.where(same, torch.arange(n), n).min(dim=2).values
        target[ms] = torch.argsort(perm, dim=1).gather(1, ring_target[:, None]).squeeze(1)
        order[ms] = torch.tensor([p[3] for p in picked])
    return RingMolecules(pos.to(dtype), types, mask, target, orbit, order)


def orbit_cap(orbit_size: Tensor) -> float:
    """The best expected accuracy of a model that scores equivalent atoms alike, with ties broken
    uniformly at random: ``mean(1 / |orbit of the reacting atom|)``."""
    if orbit_size.numel() == 0 or bool((orbit_size < 1).any()):
        raise ValueError("orbit sizes must be a non-empty tensor of positive integers")
    return float((1.0 / orbit_size.double()).mean())


def symmetries(n: int = MAX_ATOMS) -> list[Symmetry]:
    """What a per-atom scorer of padded molecules ``(pos [B, n, 3], types [B, n], mask [B, n]) →
    scores [B, n]`` should respect, as rows for :func:`symlib.audit.audit` (apply the model with
    ``call=lambda f, x: f(*x)``): a rigid motion, reflections included, moves the atoms and leaves
    the scores (invariance); relabelling the atoms relabels the scores alike (equivariance)."""
    e3, relabel = Euclidean3d(reflections=True), Permutation(n, dim=1)
    return [Symmetry("rigid motion", Product(e3, Trivial(), Trivial()), Trivial()),
            Symmetry("relabelling", Product(relabel, relabel, relabel), relabel)]


class Hexagons(NamedTuple):
    """Regular hexagons placed in space, each with six equivalent sites and one noise draw
    (:func:`hexagons`). Shapes for ``n`` rings, float64: ``ring, sites [n, 6, 3]``, ``centre [n, 3]``,
    ``turn [n, 3, 3]`` (the rotation applied), ``noise [n, 3]`` (standard normal), ``rho2 [n]`` (the
    squared site radius)."""

    ring: Tensor
    sites: Tensor
    centre: Tensor
    turn: Tensor
    noise: Tensor
    rho2: Tensor


def hexagons(n: int, *, seed: int, site: float = 1.75) -> Hexagons:
    """``n`` regular hexagons of random radius (1 to 1.5 Å), centre (in ``[−2, 2)³`` Å) and orientation
    (uniform over rotations), each with its six **sites** in line with the ring atoms at ``site``
    times the ring's radius from its centre, and one standard normal draw in 3D: chapter 08's
    generation task (place a new atom on any one of six equivalent sites).

    Uniform draws and :mod:`symlib.portable`'s rotations and normals, so the same bits on every
    machine; a pure function of ``(n, seed, site)``.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    gen = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    size = 1.0 + 0.5 * torch.rand(n, 1, 1, generator=gen, dtype=f64)               # radius 1 to 1.5 Å
    centre = 4.0 * torch.rand(n, 1, 3, generator=gen, dtype=f64) - 2.0
    turn = portable.rotations(n, generator=gen)[:, None]                             # [n, 1, 3, 3]
    unit = regular_ring(6) / regular_ring(6)[0, 0]                                   # radius 1
    ring, sites = (centre + portable.rotate(radius * unit, turn) for radius in (size, site * size))
    return Hexagons(ring, sites, centre[:, 0], turn[:, 0], portable.randn(n, 3, generator=gen, dtype=f64),
                    (site * size[:, 0, 0]) ** 2)
