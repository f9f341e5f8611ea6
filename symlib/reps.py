"""Matrix representations of groups, the input of :func:`symlib.solve.solve`.

A representation ``ρ`` of a group assigns a matrix ``ρ(g)`` to every element ``g``; a :class:`Rep`
gives it on the group's generators (finite ones, and for a continuous group a basis of its Lie
algebra). Representations are built from a few basic ones and combined:

* :func:`cyclic` (the shifts of a periodic 1D signal: the regular representation of ``Z_n``),
  :func:`dihedral` (regular representation of ``D_n``), :func:`symmetric` (``S_n`` permuting
  ``n`` coordinates), :func:`grid_rotations` (``C4``/``D4`` turning a ``k×k`` image),
  :func:`so3_vectors` (rotations of 3D vectors, through the Lie algebra);
* :func:`direct_sum` (several fields side by side, e.g. channels), :func:`tensor_product` (products of
  fields of one group, e.g. a matrix indexed by two nodes), :func:`outer` (a field of a product group,
  e.g. :func:`shifts_2d` = horizontal × vertical shifts).

Two representations can be combined or solved together only if they represent the *same* group
with the *same* generators in the same order: :attr:`Rep.group` says which.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["RANK_TOL", "Rep", "check_same_group", "cyclic", "dihedral", "direct_sum", "grid_rotations",
           "outer", "shifts_2d", "so3_vectors", "symmetric", "tensor_product"]

#: Singular values of the stacked constraint below ``RANK_TOL × scale`` count as zero, where
#: ``scale`` is the size of the generators (1 for orthogonal matrices; see ``_scale``). Non-zero
#: singular values of such constraints are of order one (``2 sin(π/n)`` for ``Z_n``), float64
#: rounding leaves ~1e-15 on the zero ones; 1e-8 separates the two by many orders of magnitude.
RANK_TOL = 1e-8


def _as_matrix(m: Tensor | Sequence, what: str) -> Tensor:
    m = torch.as_tensor(m, dtype=torch.float64)
    if m.dim() != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{what} must be a square matrix, got shape {tuple(m.shape)}")
    return m


@dataclass(frozen=True, eq=False)
class Rep:
    """A matrix representation of a group, given on the group's generators.

    Attributes:
        group: a hashable name of the group *and its generating set*, e.g. ``("C", 8)``. Only
            representations with equal ``group`` can be combined or related by :func:`solve`.
        generators: ``ρ(g_i)`` for each finite generator, float64 ``[dim, dim]``, invertible.
        algebra: ``dρ(A_j)`` for each Lie-algebra generator of a continuous group, ``[dim, dim]``.
        name: a label for printing.
    """

    group: Hashable
    generators: tuple[Tensor, ...]
    algebra: tuple[Tensor, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        gens = tuple(_as_matrix(g, f"generator {i} of {self.name or self.group}")
                     for i, g in enumerate(self.generators))
        alg = tuple(_as_matrix(a, f"Lie-algebra generator {i} of {self.name or self.group}")
                    for i, a in enumerate(self.algebra))
        if not gens and not alg:
            raise ValueError("a representation needs at least one generator or Lie-algebra generator")
        dims = {m.shape[0] for m in gens + alg}
        if len(dims) != 1:
            raise ValueError(f"generators of {self.name or self.group} have different sizes {sorted(dims)}")
        for i, g in enumerate(gens):
            s = torch.linalg.svdvals(g)
            if s[-1] <= RANK_TOL * s[0]:
                raise ValueError(f"generator {i} of {self.name or self.group} is not invertible, so it "
                                 "cannot represent a group element")
        object.__setattr__(self, "generators", gens)
        object.__setattr__(self, "algebra", alg)

    @property
    def dim(self) -> int:
        """The dimension of the space the group acts on."""
        return (self.generators + self.algebra)[0].shape[0]

    @property
    def key(self) -> str:
        """A fingerprint of the group and the matrices, used to cache solutions."""
        h = hashlib.sha1(repr((self.group, len(self.generators), len(self.algebra))).encode())
        for m in self.generators + self.algebra:
            h.update(m.contiguous().numpy().tobytes())
        return h.hexdigest()

    @property
    def is_permutation(self) -> bool:
        """Whether every generator is a permutation matrix (and there is no Lie algebra)."""
        return not self.algebra and all(_is_permutation(g) for g in self.generators)

    def elements(self, limit: int = 100_000) -> list[Tensor]:
        """Every matrix of a finite group: the closure of the generators under products, found by
        breadth-first search from ``I`` (matrices compared after rounding to 8 decimals). Raises
        ``ValueError`` for a continuous group (a Lie algebra) or more than ``limit`` elements."""
        if self.algebra:
            raise ValueError(f"{self!r} is a continuous group: it has no finite list of elements")

        def key(m: Tensor) -> bytes:
            return (torch.round(m, decimals=8) + 0.0).numpy().tobytes()   # + 0.0 folds -0.0 into 0.0

        identity = torch.eye(self.dim, dtype=torch.float64)
        found, frontier = {key(identity): identity}, [identity]
        while frontier:
            new = []
            for m in frontier:
                for g in self.generators:
                    p = g @ m
                    if key(p) not in found:
                        found[key(p)] = p
                        new.append(p)
                        if len(found) > limit:
                            raise ValueError(f"{self!r} has more than {limit:,} elements")
            frontier = new
        return list(found.values())

    def trivial(self, dim: int = 1) -> Rep:
        """The trivial representation of the same group on ``R^dim``: every element acts as the identity."""
        eye, zero = torch.eye(dim, dtype=torch.float64), torch.zeros(dim, dim, dtype=torch.float64)
        return Rep(self.group, tuple(eye for _ in self.generators), tuple(zero for _ in self.algebra),
                   name=f"trivial({dim})")

    def __repr__(self) -> str:
        return f"Rep({self.name or self.group}, dim={self.dim})"


def _is_permutation(m: Tensor) -> bool:
    return bool(((m == 0) | (m == 1)).all() and (m.sum(0) == 1).all() and (m.sum(1) == 1).all())


def _permutation_matrix(images: Sequence[int]) -> Tensor:
    """The matrix that sends basis vector ``e_j`` to ``e_{images[j]}``."""
    n = len(images)
    m = torch.zeros(n, n, dtype=torch.float64)
    m[torch.as_tensor(images), torch.arange(n)] = 1.0
    return m


# ---------------------------------------------------------------------------------------------
# basic representations


def cyclic(n: int) -> Rep:
    """``Z_n`` shifting a periodic signal of length ``n`` by one step (``torch.roll(x, 1)``): the
    regular representation of the cyclic group, generated by the shift."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    return Rep(("C", n), (_permutation_matrix([(j + 1) % n for j in range(n)]),), name=f"cyclic({n})")


def dihedral(n: int) -> Rep:
    """The regular representation of ``D_n`` (``2n`` dims), generated by the rotation ``r`` and a
    reflection ``s``; element ``r^k s^m`` is basis vector ``m·n + k``, and ``g`` permutes the basis
    by left multiplication, using ``s r^k = r^{-k} s``."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")

    def index(k: int, m: int) -> int:
        return (m % 2) * n + k % n

    elements = [(k, m) for m in range(2) for k in range(n)]
    r = _permutation_matrix([index(k + 1, m) for k, m in elements])
    s = _permutation_matrix([index(-k, m + 1) for k, m in elements])
    return Rep(("D", n), (r, s), name=f"dihedral({n})")


def symmetric(n: int) -> Rep:
    """``S_n`` permuting ``n`` coordinates, generated by the transposition ``(0 1)`` and the cycle
    ``(0 1 … n-1)``."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    swap = list(range(n))
    if n > 1:
        swap[0], swap[1] = 1, 0
    cycle = [(j + 1) % n for j in range(n)]
    return Rep(("S", n), (_permutation_matrix(swap), _permutation_matrix(cycle)), name=f"symmetric({n})")


def grid_rotations(k: int, *, flips: bool = False) -> Rep:
    """``C4`` (or ``D4`` with ``flips=True``) turning the pixels of a ``k×k`` image, flattened
    row-major: the generators are ``torch.rot90`` (counter-clockwise) and a left–right mirror, as in
    :class:`symlib.groups.Rot90` and :class:`symlib.groups.Dihedral4`. Same group keys as
    :func:`cyclic` ``(4)`` and :func:`dihedral` ``(4)``."""
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    idx = torch.arange(k * k).reshape(k, k)

    def perm(moved: Tensor) -> Tensor:  # pixel moved[p] of the transformed image came from p
        return _permutation_matrix(torch.argsort(moved.flatten()).tolist())

    gens = (perm(torch.rot90(idx, 1, dims=(0, 1))),)
    if flips:
        gens += (perm(torch.flip(idx, dims=(1,))),)
    return Rep(("D", 4) if flips else ("C", 4), gens, name=f"{'D4' if flips else 'C4'} on {k}×{k} pixels")


def so3_vectors() -> Rep:
    """``SO(3)`` rotating vectors of ``R^3``, through its Lie algebra: ``L_x, L_y, L_z`` with
    ``(L_a)_{bc} = -ε_{abc}`` (so that ``exp(θ L_z)`` rotates by ``θ`` about ``z``)."""
    eps = torch.zeros(3, 3, 3, dtype=torch.float64)
    for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        eps[a, b, c], eps[a, c, b] = 1.0, -1.0
    return Rep(("SO", 3), (), tuple(-eps[a] for a in range(3)), name="so3_vectors")


def shifts_2d(h: int, w: int) -> Rep:
    """Translations of an ``h×w`` periodic image, flattened row-major: ``outer(cyclic(h), cyclic(w))``."""
    return outer(cyclic(h), cyclic(w))


# ---------------------------------------------------------------------------------------------
# combining representations


def check_same_group(reps: Sequence[Rep], what: str) -> None:
    """Raise ``ValueError`` unless all ``reps`` represent the same group with the same generators."""
    first = reps[0]
    for r in reps[1:]:
        if r.group != first.group or len(r.generators) != len(first.generators) \
                or len(r.algebra) != len(first.algebra):
            raise ValueError(f"{what} needs representations of one group with the same generators, "
                             f"got {first!r} of {first.group} and {r!r} of {r.group}")


def direct_sum(*reps: Rep) -> Rep:
    """``ρ_1 ⊕ ρ_2 ⊕ …``: the fields side by side (block-diagonal matrices), e.g. ``c`` channels."""
    if not reps:
        raise ValueError("direct_sum needs at least one representation")
    check_same_group(reps, "direct_sum")
    gens = tuple(torch.block_diag(*ms) for ms in zip(*(r.generators for r in reps)))
    alg = tuple(torch.block_diag(*ms) for ms in zip(*(r.algebra for r in reps)))
    return Rep(reps[0].group, gens, alg, name=" ⊕ ".join(r.name for r in reps))


def tensor_product(a: Rep, b: Rep) -> Rep:
    """``ρ_a ⊗ ρ_b`` of one group: ``g`` acts on both indices (``kron``); on the Lie algebra,
    ``A ⊗ I + I ⊗ B``. A matrix indexed by two nodes of a graph is
    ``tensor_product(symmetric(n), symmetric(n))``."""
    check_same_group([a, b], "tensor_product")
    ia, ib = torch.eye(a.dim, dtype=torch.float64), torch.eye(b.dim, dtype=torch.float64)
    gens = tuple(torch.kron(x, y) for x, y in zip(a.generators, b.generators))
    alg = tuple(torch.kron(x, ib) + torch.kron(ia, y) for x, y in zip(a.algebra, b.algebra))
    return Rep(a.group, gens, alg, name=f"({a.name} ⊗ {b.name})")


def outer(a: Rep, b: Rep) -> Rep:
    """The representation of the product group ``G_a × G_b`` on ``R^{dim_a} ⊗ R^{dim_b}``: ``G_a``
    acts on the first index, ``G_b`` on the second (``kron(g, I)`` and ``kron(I, h)``)."""
    ia, ib = torch.eye(a.dim, dtype=torch.float64), torch.eye(b.dim, dtype=torch.float64)
    gens = tuple(torch.kron(g, ib) for g in a.generators) + tuple(torch.kron(ia, h) for h in b.generators)
    alg = tuple(torch.kron(x, ib) for x in a.algebra) + tuple(torch.kron(ia, y) for y in b.algebra)
    return Rep((a.group, b.group), gens, alg, name=f"({a.name} × {b.name})")
