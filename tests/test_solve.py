"""symlib.solve: every solved space is checked against an independent count or closed form.

The oracles, none of which uses :func:`symlib.solve.solve`:

* **Burnside / characters.** For a finite group the elements are generated as matrices by closing the
  generators under products (:func:`_closure`), and ``dim Hom_G(V, W) = (1/|G|) Σ_g tr ρ_V(g) tr ρ_W(g)``
  (real representations). Known counts (``n`` for ``Z_n``, Bell numbers for ``S_n`` on pairs, the
  ``C4``/``D4`` pixel counts) are checked against Burnside as well.
* **The group average** ``(1/|G|) Σ_g ρ_out(g) M ρ_in(g)⁻¹`` of a random ``M`` is an equivariant map
  built without the solver: it must lie in the solved span.
* **Closed forms**: banded circulants (``2r + 1``), ``nn.Conv2d``'s parameter count and its dense
  matrices, the Levi-Civita tensor and the Kronecker delta for ``SO(3)``, finite rotations from
  ``matrix_exp`` of the Lie algebra.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

import symlib.solve as solve_module
from symlib.reps import (
    Rep,
    cyclic,
    dihedral,
    direct_sum,
    grid_rotations,
    outer,
    shifts_2d,
    so3_vectors,
    symmetric,
    tensor_product,
)
from symlib.solve import canonical, constraints, solve, tied_entries

pytestmark = pytest.mark.usefixtures("single_threaded_torch")  # tiny tensors: see tests/conftest.py

#: float64 results: orthonormality, constraints, projections
ATOL = 1e-10
#: the closure of a generating set stops with an error beyond this many elements (a bug, not a group)
MAX_GROUP = 5000


# ---------------------------------------------------------------------------------------------
# oracles


def _closure(generators: list[np.ndarray]) -> list[np.ndarray]:
    """All products of the generators (a finite matrix group), by breadth-first search from ``I``.

    Matrices are identified after rounding to 8 decimals (``+ 0.0`` folds ``-0.0`` into ``0.0``).
    """
    def key(m: np.ndarray) -> bytes:
        return (np.round(m, 8) + 0.0).tobytes()

    eye = np.eye(generators[0].shape[0])
    seen = {key(eye): eye}
    frontier = [eye]
    while frontier:
        new = []
        for m in frontier:
            for g in generators:
                p = g @ m
                k = key(p)
                if k not in seen:
                    seen[k] = p
                    new.append(p)
        frontier = new
        assert len(seen) <= MAX_GROUP, "generators do not close into a small finite group"
    return list(seen.values())


@functools.cache  # Reps compare by identity; the cases below are built once
def _pairs(rep_in: Rep, rep_out: Rep) -> tuple[np.ndarray, np.ndarray]:
    """``ρ_in(g)`` ``[|G|, d_in, d_in]`` and ``ρ_out(g)`` ``[|G|, d_out, d_out]`` for every element of
    the group generated jointly (closure of ``ρ_in ⊕ ρ_out``, so the two stay matched element by
    element)."""
    assert not rep_in.algebra and not rep_out.algebra
    d = rep_in.dim
    gens = [torch.block_diag(a, b).numpy() for a, b in zip(rep_in.generators, rep_out.generators)]
    elements = np.stack(_closure(gens))
    return elements[:, :d, :d], elements[:, d:, d:]


def burnside(rep_in: Rep, rep_out: Rep) -> int:
    """``dim Hom_G(V_in, V_out) = (1/|G|) Σ_g χ_in(g) χ_out(g)`` (real characters)."""
    a, b = _pairs(rep_in, rep_out)
    value = float(np.mean(np.trace(a, axis1=1, axis2=2) * np.trace(b, axis1=1, axis2=2)))
    assert abs(value - round(value)) < 1e-9, value
    return round(value)


def group_average(rep_in: Rep, rep_out: Rep, m: np.ndarray) -> np.ndarray:
    """``(1/|G|) Σ_g ρ_out(g) M ρ_in(g)⁻¹`` for a stack of maps ``M`` ``[s, d_out, d_in]``: equivariant
    maps built without the solver."""
    a, b = _pairs(rep_in, rep_out)
    inv = np.linalg.inv(a)
    return (b[None] @ m[:, None] @ inv[None]).mean(axis=1)


def maxabs(t: Tensor) -> float:
    """The largest absolute entry, 0 for an empty tensor (e.g. an empty basis)."""
    return float(t.abs().max()) if t.numel() else 0.0


def flat(basis: Tensor) -> Tensor:
    """``[k, d_out, d_in]`` → ``[k, d_out·d_in]`` (also for ``k = 0``)."""
    return basis.reshape(basis.shape[0], math.prod(basis.shape[1:]))


def orthonormal_rows(vectors: Tensor) -> Tensor:
    """An orthonormal basis ``[r, p]`` of the span of ``vectors`` ``[m, ...]`` (SVD; independent of solve)."""
    v = flat(vectors)
    if v.shape[0] == 0:
        return v
    _, s, vh = torch.linalg.svd(v, full_matrices=False)
    return vh[: int((s > 1e-9 * s[0]).sum())]


def assert_same_span(a: Tensor, b: Tensor, atol: float = 1e-9) -> None:
    """The rows of ``a`` and ``b`` (any trailing shape) span the same space: equal dimension and each
    orthonormal basis lies in the other's span (without forming ``p × p`` projectors)."""
    qa, qb = orthonormal_rows(a), orthonormal_rows(b)
    assert qa.shape[0] == qb.shape[0]
    assert maxabs(qa - (qa @ qb.T) @ qb) <= atol


def stirling2(n: int, k: int) -> int:
    """Stirling numbers of the second kind: partitions of ``n`` labelled items into ``k`` blocks."""
    return sum((-1) ** i * math.comb(k, i) * (k - i) ** n for i in range(k + 1)) // math.factorial(k)


def partitions_at_most(items: int, blocks: int) -> int:
    """Set partitions of ``items`` into at most ``blocks`` blocks: ``dim Hom_{S_n}`` between tensor
    powers of the permutation representation (the Bell number ``B(items)`` once ``blocks ≥ items``)."""
    return sum(stirling2(items, k) for k in range(1, blocks + 1))


def rotation_2d(n: int) -> Rep:
    """``Z_n`` rotating the plane by ``2π/n``: a finite group that is not a permutation representation."""
    t = 2 * math.pi / n
    m = torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]], dtype=torch.float64)
    return Rep(("C", n), (m,), name=f"rot2d({n})")


def conjugated(rep: Rep, seed: int) -> tuple[Rep, Tensor]:
    """``Q ρ Qᵀ`` for a random orthogonal ``Q``: the same representation in a dense basis."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(rep.dim, rep.dim, generator=g, dtype=torch.float64))
    return Rep(rep.group, tuple(q @ m @ q.T for m in rep.generators), name=f"Q {rep.name} Qᵀ"), q


def circular_distance(i: Tensor, j: Tensor, n: int) -> Tensor:
    d = (i - j) % n
    return torch.minimum(d, n - d)


def band_mask(n: int, r: int) -> Tensor:
    i = torch.arange(n)
    return circular_distance(i[:, None], i[None, :], n) <= r


def neighbourhood_mask_2d(h: int, w: int, r: int = 1) -> Tensor:
    """``[h·w, h·w]``: output pixel ``p`` may read input pixel ``q`` when both periodic offsets are
    ``≤ r``."""
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    return (circular_distance(rows[:, None], rows[None, :], h) <= r) \
        & (circular_distance(cols[:, None], cols[None, :], w) <= r)


def shift_matrix(n: int, k: int) -> Tensor:
    """``P^k``: the matrix of ``torch.roll(x, k)`` on ``R^n``."""
    return torch.roll(torch.eye(n, dtype=torch.float64), k, dims=0)


# ---------------------------------------------------------------------------------------------
# the cases: (rep_in, rep_out, closed form or None), built lazily and cached


def _sym_tensor(n: int) -> Rep:
    return tensor_product(symmetric(n), symmetric(n))


def _channels(rep: Rep, c: int) -> Rep:
    return direct_sum(*([rep] * c))


def c4_pixels(k: int) -> int:
    """``C4`` on ``k×k`` pixels: the rotations by 90°, 180° and 270° fix the centre pixel (odd ``k``)
    only."""
    return (k ** 4 + 3) // 4 if k % 2 else k ** 4 // 4


def d4_pixels(k: int) -> int:
    """``D4`` adds two mirrors fixing the middle column or row (``k`` pixels, odd ``k`` only) and two
    diagonal mirrors (``k`` pixels each)."""
    odd = k % 2
    return (k ** 4 + 3 * odd + 2 * (k * odd) ** 2 + 2 * k ** 2) // 8


def _build_cases() -> dict[str, tuple[Callable[[], tuple[Rep, Rep]], int | None]]:
    """``name → (make the pair (rep_in, rep_out), closed-form dimension or None)``. Sizes stay small:
    ``d_out·d_in ≤ 900`` (the SVD method solves a problem of that many unknowns)."""
    cases: dict[str, tuple[Callable[[], tuple[Rep, Rep]], int | None]] = {}

    def add(name: str, make: Callable[[], tuple[Rep, Rep]], closed: int | None) -> None:
        cases[name] = (make, closed)

    for n in range(1, 10):
        add(f"cyclic({n})", lambda n=n: (cyclic(n), cyclic(n)), n)
    for n in range(1, 7):
        add(f"dihedral({n})", lambda n=n: (dihedral(n), dihedral(n)), 2 * n)
        add(f"S{n}->S{n}", lambda n=n: (symmetric(n), symmetric(n)), 1 if n == 1 else 2)
        add(f"S{n}->trivial", lambda n=n: (symmetric(n), symmetric(n).trivial()), 1)
        add(f"S{n}⊗S{n}->S{n}", lambda n=n: (_sym_tensor(n), symmetric(n)), partitions_at_most(3, n))
        add(f"S{n}⊗S{n}->trivial", lambda n=n: (_sym_tensor(n), symmetric(n).trivial()),
            partitions_at_most(2, n))
    for n in range(1, 6):
        add(f"S{n}⊗S{n}->S{n}⊗S{n}", lambda n=n: (_sym_tensor(n), _sym_tensor(n)),
            partitions_at_most(4, n))
    for n in (2, 4):
        add(f"S{n}->S{n}⊗S{n}", lambda n=n: (symmetric(n), _sym_tensor(n)), partitions_at_most(3, n))
    for k in range(1, 6):
        add(f"C4 grid {k}", lambda k=k: (grid_rotations(k), grid_rotations(k)), c4_pixels(k))
        add(f"D4 grid {k}", lambda k=k: (grid_rotations(k, flips=True), grid_rotations(k, flips=True)),
            d4_pixels(k))
    for k in (2, 3):  # from the regular representation: Hom(R[G], W) ≅ W
        add(f"cyclic(4)->C4 grid {k}", lambda k=k: (cyclic(4), grid_rotations(k)), k * k)
        add(f"dihedral(4)->D4 grid {k}", lambda k=k: (dihedral(4), grid_rotations(k, flips=True)), k * k)
    for h, w in [(1, 1), (1, 4), (2, 3), (3, 3), (4, 5), (5, 6)]:
        add(f"shifts_2d({h},{w})", lambda h=h, w=w: (shifts_2d(h, w), shifts_2d(h, w)), h * w)
    for h, w, c, c2 in [(2, 3, 2, 3), (3, 3, 2, 2), (3, 4, 1, 3), (2, 2, 3, 1)]:
        add(f"shifts_2d({h},{w}) x{c}->x{c2}",
            lambda h=h, w=w, c=c, c2=c2: (_channels(shifts_2d(h, w), c), _channels(shifts_2d(h, w), c2)),
            h * w * c * c2)
    for a, b in [(2, 3), (3, 4), (4, 4)]:
        add(f"outer(cyclic({a}),cyclic({b}))", lambda a=a, b=b: (outer(cyclic(a), cyclic(b)),) * 2, a * b)
    add("outer(cyclic(3),cyclic(4))->outer(cyclic(3),trivial)",
        lambda: (outer(cyclic(3), cyclic(4)), outer(cyclic(3), cyclic(4).trivial())), 3)
    add("outer(dihedral(3),symmetric(3))", lambda: (outer(dihedral(3), symmetric(3)),) * 2, 6 * 2)
    add("cyclic(6) x2 -> trivial x3", lambda: (_channels(cyclic(6), 2), cyclic(6).trivial(3)), 6)
    # finite groups that are not permutation representations (SVD only)
    for n in range(1, 7):
        add(f"rot2d({n})", lambda n=n: (rotation_2d(n), rotation_2d(n)), 4 if n <= 2 else 2)
        add(f"cyclic({n})->rot2d({n})", lambda n=n: (cyclic(n), rotation_2d(n)), None)
    for n in (2, 3, 5):
        add(f"Q dihedral({n}) Qᵀ", lambda n=n: (conjugated(dihedral(n), n)[0], dihedral(n)), 2 * n)
    return cases


CASES = _build_cases()


@functools.cache
def case(name: str) -> tuple[Rep, Rep, int | None]:
    make, closed = CASES[name]
    return (*make(), closed)


@functools.cache
def expected_dim(name: str) -> int:
    rep_in, rep_out, _ = case(name)
    return burnside(rep_in, rep_out)


def methods(name: str) -> list[str]:
    rep_in, rep_out, _ = case(name)
    return ["svd", "orbits"] if rep_in.is_permutation and rep_out.is_permutation else ["svd"]


METHOD_CASES = [(name, m) for name in CASES for m in methods(name)]


# ---------------------------------------------------------------------------------------------
# the counts


@pytest.mark.parametrize("name", [n for n, (_, closed) in CASES.items() if closed is not None])
def test_closed_forms_agree_with_burnside(name: str) -> None:
    """The closed forms in CASES are themselves checked against the character formula."""
    assert expected_dim(name) == case(name)[2]


@pytest.mark.parametrize(("name", "method"), METHOD_CASES)
def test_dimension_is_the_burnside_count(name: str, method: str) -> None:
    rep_in, rep_out, _ = case(name)
    basis = solve(rep_in, rep_out, method=method)
    assert basis.shape == (expected_dim(name), rep_out.dim, rep_in.dim)
    assert basis.dtype == torch.float64


@pytest.mark.parametrize(
    ("rep", "order"),
    [(cyclic(7), 7), (dihedral(5), 10), (symmetric(4), 24), (grid_rotations(3), 4),
     (grid_rotations(3, flips=True), 8), (shifts_2d(2, 3), 6), (rotation_2d(5), 5)],
    ids=lambda x: repr(x) if isinstance(x, Rep) else str(x))
def test_closure_has_the_group_order(rep: Rep, order: int) -> None:
    """The oracle itself: the generators close into a group of the right order (a faithful rep)."""
    assert len(_closure([g.numpy() for g in rep.generators])) == order


@pytest.mark.parametrize(("a", "b", "order"), [
    (cyclic(4), grid_rotations(3), 4), (dihedral(4), grid_rotations(3, flips=True), 8),
    (dihedral(4), grid_rotations(2, flips=True), 8), (cyclic(6), rotation_2d(6), 6)],
    ids=["C4", "D4 k=3", "D4 k=2", "C6 rot2d"])
def test_reps_sharing_a_group_key_satisfy_the_same_relations(a: Rep, b: Rep, order: int) -> None:
    """Reps with one group key must be images of one group under matched generators: then ``ρ_a ⊕ ρ_b``
    generates a group no larger than the group itself (a mismatch would generate a bigger one)."""
    assert a.group == b.group
    assert len(_pairs(a, b)[0]) == order


# ---------------------------------------------------------------------------------------------
# properties of every solution


@pytest.mark.parametrize(("name", "method"), METHOD_CASES)
def test_basis_is_orthonormal_and_equivariant(name: str, method: str) -> None:
    rep_in, rep_out, _ = case(name)
    basis = solve(rep_in, rep_out, method=method)
    b = flat(basis)
    assert torch.allclose(b @ b.T, torch.eye(b.shape[0], dtype=torch.float64), atol=ATOL, rtol=0)
    for go, gi in zip(rep_out.generators, rep_in.generators):
        assert maxabs(go @ basis - basis @ gi) <= ATOL
    # and every element, not just the generators
    a, b = (torch.from_numpy(m) for m in _pairs(rep_in, rep_out))
    assert maxabs(torch.einsum("gij,kjl->gkil", b, basis) - torch.einsum("kij,gjl->gkil", basis, a)) <= 1e-9


@pytest.mark.parametrize(("name", "method"), METHOD_CASES)
def test_span_contains_every_group_average(name: str, method: str) -> None:
    """Completeness: random equivariant maps built by averaging over the group lie in the span,
    and enough of them span the whole solved space (so span = Hom_G)."""
    rep_in, rep_out, _ = case(name)
    basis = solve(rep_in, rep_out, method=method)
    rng = np.random.default_rng(0)
    k = basis.shape[0]
    m = rng.standard_normal((k + 2, rep_out.dim, rep_in.dim))
    averages = torch.from_numpy(group_average(rep_in, rep_out, m)).reshape(k + 2, -1)
    b = flat(basis)
    assert maxabs(averages - (averages @ b.T) @ b) <= 1e-9
    assert_same_span(averages, basis)


@pytest.mark.parametrize("name", [n for n, m in METHOD_CASES if m == "orbits"])
def test_svd_and_orbits_span_the_same_space(name: str) -> None:
    rep_in, rep_out, _ = case(name)
    assert_same_span(solve(rep_in, rep_out, method="svd"), solve(rep_in, rep_out, method="orbits"), ATOL)
    auto = solve(rep_in, rep_out)  # auto picks orbits for permutations: the same tensor
    assert torch.equal(auto, solve(rep_in, rep_out, method="orbits"))


@pytest.mark.parametrize("name", [n for n, m in METHOD_CASES if m == "orbits"])
def test_canonical_form_is_unique_and_zero_one_for_permutations(name: str) -> None:
    """Reduced row-echelon form is unique, so both methods give the same canonical basis; for
    permutation representations it is the 0/1 indicators of disjoint orbits covering what is free."""
    rep_in, rep_out, _ = case(name)
    c_svd = canonical(solve(rep_in, rep_out, method="svd"))
    c_orb = canonical(solve(rep_in, rep_out, method="orbits"))
    assert torch.allclose(c_svd, c_orb, atol=1e-9, rtol=0)
    assert bool(((c_orb == 0) | (c_orb == 1)).all())
    assert bool((c_orb.sum(0) == 1).all())  # the orbits are disjoint and cover every pair
    assert_same_span(c_orb, solve(rep_in, rep_out, method="orbits"), ATOL)


def test_constraints_vanish_exactly_on_the_solution() -> None:
    rep = dihedral(3)
    c = constraints(rep, rep)
    assert c.shape == (2 * 36, 36)
    basis = solve(rep, rep, method="svd")
    assert float((c @ flat(basis).T).abs().max()) <= ATOL


# ---------------------------------------------------------------------------------------------
# dense (non-permutation) bases


@settings(max_examples=10)
@given(seed=st.integers(0, 2 ** 31 - 1), n=st.integers(1, 5))
def test_change_of_basis_carries_the_solution(seed: int, n: int) -> None:
    """Hom(QρQᵀ, ρ) = {W Qᵀ : W ∈ Hom(ρ, ρ)}: the SVD method finds it in a dense basis."""
    rep = dihedral(n)
    dense, q = conjugated(rep, seed)
    basis = solve(dense, rep, method="svd")
    assert basis.shape[0] == 2 * n
    carried = flat(solve(rep, rep, method="orbits") @ q.T)
    assert_same_span(basis, carried)


# ---------------------------------------------------------------------------------------------
# locality


@settings(max_examples=15)
@given(data=st.data())
def test_banded_circulants(data: st.DataObject) -> None:
    """Shift-equivariant maps reading only within circular distance ``r``: ``2r + 1`` of them, the
    circulants with that band (a 1D convolution with a ``2r + 1``-tap kernel)."""
    n = data.draw(st.integers(1, 12), label="n")
    r = data.draw(st.integers(0, (n - 1) // 2), label="r")
    mask = band_mask(n, r)
    for method in ("svd", "orbits"):
        basis = solve(cyclic(n), cyclic(n), support=mask, method=method)
        assert basis.shape[0] == 2 * r + 1
        assert maxabs(basis[:, ~mask]) == 0.0
        offsets = [k for k in range(-r, r + 1)]
        shifts = torch.stack([shift_matrix(n, k) for k in offsets]).reshape(len(offsets), -1)
        assert_same_span(basis, shifts, ATOL)


def test_periodic_3x3_neighbourhood_gives_nine_weights() -> None:
    mask = neighbourhood_mask_2d(6, 6)
    for method in ("svd", "orbits"):
        basis = solve(shifts_2d(6, 6), shifts_2d(6, 6), support=mask, method=method)
        assert basis.shape == (9, 36, 36)
        assert float(basis[:, ~mask].abs().max()) == 0.0


def _conv_matrix(conv: nn.Conv2d, h: int, w: int) -> Tensor:
    """The dense ``[c_out·h·w, c_in·h·w]`` matrix of a convolution, column ``j`` = response to ``e_j``."""
    d_in = conv.in_channels * h * w
    with torch.no_grad():
        out = conv(torch.eye(d_in, dtype=torch.float64).reshape(d_in, conv.in_channels, h, w))
    return out.reshape(d_in, -1).T


@pytest.mark.parametrize(("h", "w", "method"), [(6, 6, "orbits"), (4, 4, "svd"), (4, 5, "auto")])
def test_channels_with_a_3x3_neighbourhood_are_a_circular_conv2d(h: int, w: int, method: str) -> None:
    """``c_in = 2 → c_out = 3`` channels on a torus, 3×3 support: exactly the weights of
    ``nn.Conv2d(2, 3, 3, bias=False)``, and the span is exactly its dense matrices."""
    c_in, c_out = 2, 3
    conv_params = sum(p.numel() for p in nn.Conv2d(c_in, c_out, 3, bias=False).parameters())
    assert conv_params == 54
    local = neighbourhood_mask_2d(h, w)
    mask = torch.ones(c_out, c_in, 1, 1, dtype=torch.bool) * local[None, None]  # [c_out, c_in, hw, hw]
    mask = mask.permute(0, 2, 1, 3).reshape(c_out * h * w, c_in * h * w)
    rep_in, rep_out = _channels(shifts_2d(h, w), c_in), _channels(shifts_2d(h, w), c_out)
    basis = solve(rep_in, rep_out, support=mask, method=method)
    assert basis.shape[0] == conv_params
    torch.manual_seed(0)
    convs = []
    for _ in range(conv_params + 3):
        conv = nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="circular", bias=False).double()
        convs.append(_conv_matrix(conv, h, w).flatten())
    convs = torch.stack(convs)
    assert_same_span(convs, basis)


@pytest.mark.parametrize("method", ["svd", "orbits"])
@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_a_mask_that_is_not_invariant_keeps_only_orbits_inside_it(n: int, method: str) -> None:
    row0 = torch.zeros(n, n, dtype=torch.bool)
    row0[0] = True
    # every orbit of (i, j) under the shifts meets every row, so none fits into row 0 (for n > 1)
    assert solve(cyclic(n), cyclic(n), support=row0, method=method).shape[0] == (1 if n == 1 else 0)
    nothing = torch.zeros(n, n, dtype=torch.bool)
    assert solve(cyclic(n), cyclic(n), support=nothing, method=method).shape == (0, n, n)
    # S_n: the diagonal orbit fits into "diagonal plus one stray entry", the off-diagonal orbit does not
    stray = torch.eye(n, dtype=torch.bool)
    stray[0, n - 1] = True
    basis = solve(symmetric(n), symmetric(n), support=stray, method=method)
    assert basis.shape[0] == 1
    assert torch.allclose(basis[0].abs(), torch.eye(n, dtype=torch.float64) / n ** 0.5, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# SO(3) through its Lie algebra


V = so3_vectors()
VV = tensor_product(V, V)
SCALAR = V.trivial()

LEVI_CIVITA = torch.zeros(3, 3, 3, dtype=torch.float64)
for _a, _b, _c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
    LEVI_CIVITA[_a, _b, _c], LEVI_CIVITA[_a, _c, _b] = 1.0, -1.0


def _equal_up_to_sign(a: Tensor, b: Tensor) -> bool:
    return bool(torch.allclose(a, b, atol=ATOL) or torch.allclose(a, -b, atol=ATOL))


def test_so3_vector_to_vector_is_the_identity() -> None:
    basis = solve(V, V)
    assert basis.shape == (1, 3, 3)
    assert _equal_up_to_sign(basis[0], torch.eye(3, dtype=torch.float64) / 3 ** 0.5)


def test_so3_cross_product() -> None:
    basis = solve(VV, V)
    assert basis.shape == (1, 3, 9)
    assert _equal_up_to_sign(basis[0].reshape(3, 3, 3), LEVI_CIVITA / 6 ** 0.5)
    x, y = torch.randn(3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    out = basis[0] @ torch.kron(x, y)
    assert _equal_up_to_sign(out, torch.linalg.cross(x, y) / 6 ** 0.5)


def test_so3_dot_product() -> None:
    basis = solve(VV, SCALAR)
    assert basis.shape == (1, 1, 9)
    assert _equal_up_to_sign(basis[0, 0], torch.eye(3, dtype=torch.float64).flatten() / 3 ** 0.5)


def test_so3_pairs_to_pairs_identity_swap_and_trace() -> None:
    basis = solve(VV, VV)
    assert basis.shape == (3, 9, 9)
    eye = torch.eye(3, dtype=torch.float64)
    identity = torch.einsum("ac,bd->abcd", eye, eye).reshape(9, 9)  # x⊗y ↦ x⊗y
    swap = torch.einsum("ad,bc->abcd", eye, eye).reshape(9, 9)      # x⊗y ↦ y⊗x
    trace = torch.einsum("ab,cd->abcd", eye, eye).reshape(9, 9)     # x⊗y ↦ (x·y) Σ e_a⊗e_a
    assert_same_span(basis, torch.stack([identity, swap, trace]), ATOL)


def test_so3_times_a_finite_group() -> None:
    """``outer`` of a Lie-algebra rep and a permutation rep: ``SO(3) × Z_2`` on ``R^3 ⊗ R^2``: maps
    commuting with both are ``I_3 ⊗ (circulant 2×2)``: 2."""
    rep = outer(V, cyclic(2))
    basis = solve(rep, rep)
    assert basis.shape == (2, 6, 6)
    swap = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    eye2, eye3 = torch.eye(2, dtype=torch.float64), torch.eye(3, dtype=torch.float64)
    assert_same_span(basis, torch.stack([torch.kron(eye3, eye2), torch.kron(eye3, swap)]), ATOL)
    with pytest.raises(ValueError, match="orbits"):
        solve(rep, rep, method="orbits")


@pytest.mark.parametrize("scale", [
    1e-9, 1e-4, 1.0, 1e4,
])
def test_the_normalisation_of_the_lie_algebra_does_not_matter(scale: float) -> None:
    """Any basis of the Lie algebra imposes the same constraints; ``tol`` is relative to σ_max."""
    rep = Rep(("SO", 3), (), tuple(scale * a for a in V.algebra))
    assert solve(rep, rep).shape[0] == 1
    assert solve(rep, rep.trivial()).shape[0] == 0
    assert solve(tensor_product(rep, rep), rep).shape[0] == 1


def test_so3_has_no_invariant_vector() -> None:
    assert solve(V, SCALAR).shape == (0, 1, 3)
    assert solve(SCALAR, V).shape == (0, 3, 1)


def _rotation(seed: int) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(3, generator=g, dtype=torch.float64) * 2
    return torch.linalg.matrix_exp(sum(t * a for t, a in zip(theta, V.algebra)))


@settings(max_examples=15)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_so3_solutions_commute_with_finite_rotations(seed: int) -> None:
    r = _rotation(seed)
    assert torch.allclose(r @ r.T, torch.eye(3, dtype=torch.float64), atol=ATOL)
    assert abs(float(torch.linalg.det(r)) - 1.0) < ATOL
    one = torch.ones(1, 1, dtype=torch.float64)
    act = {V: r, VV: torch.kron(r, r), SCALAR: one}
    for rep_in, rep_out in [(V, V), (VV, V), (VV, SCALAR), (VV, VV), (V, VV)]:
        basis = solve(rep_in, rep_out)
        assert basis.shape[0] > 0
        err = act[rep_out] @ basis - basis @ act[rep_in]
        assert float(err.abs().max()) <= ATOL


def test_so3_basis_is_orthonormal() -> None:
    for rep_in, rep_out in [(V, V), (VV, V), (VV, SCALAR), (VV, VV), (V, VV)]:
        b = flat(solve(rep_in, rep_out))
        assert torch.allclose(b @ b.T, torch.eye(b.shape[0], dtype=torch.float64), atol=ATOL, rtol=0)


def test_so3_with_a_finite_generator() -> None:
    """A Rep may have both finite and Lie-algebra generators: O(2) as the rotations about z plus the
    rotation by π about x. Commuting with the rotations about z leaves ``[[a, -b, 0], [b, a, 0], [0, 0, c]]``
    (3); the flip then forces ``b = 0`` (2)."""
    lz = V.algebra[2]
    flip = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))  # π about x
    rep = Rep(("O2",), (flip,), (lz,), name="O(2) about z")
    # commuting with rotations about z: [[a, -b, 0], [b, a, 0], [0, 0, c]]; with the flip: b = 0
    assert solve(rep, rep).shape[0] == 2
    rep_so2 = Rep(("SO2",), (), (lz,))
    assert solve(rep_so2, rep_so2).shape[0] == 3


# ---------------------------------------------------------------------------------------------
# canonical() and tied_entries()


@pytest.mark.parametrize("method", ["svd", "orbits"])
@pytest.mark.parametrize("n", [1, 2, 3, 6, 9])
def test_canonical_of_the_shifts_is_the_shift_matrices(n: int, method: str) -> None:
    c = canonical(solve(cyclic(n), cyclic(n), method=method))
    assert c.shape == (n, n, n)
    found = sorted(tuple(m.flatten().tolist()) for m in c)
    expected = sorted(tuple(shift_matrix(n, k).flatten().tolist()) for k in range(n))
    assert found == expected  # exactly: canonical zeroes the rounding noise and pivots are 1


@pytest.mark.parametrize("method", ["svd", "orbits"])
@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_tied_entries_of_the_shifts_depend_on_the_offset(n: int, method: str) -> None:
    labels = tied_entries(solve(cyclic(n), cyclic(n), method=method))
    assert labels.shape == (n, n) and labels.dtype == torch.long
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    offset = (j - i) % n
    for k in range(n):
        assert len(set(labels[offset == k].tolist())) == 1
    assert sorted(set(labels.flatten().tolist())) == list(range(n))
    assert labels[0].tolist() == list(range(n))  # numbered in order of first appearance, row-major


@pytest.mark.parametrize("method", ["svd", "orbits"])
@pytest.mark.parametrize("n", [2, 3, 5])
def test_tied_entries_of_the_symmetric_group_diagonal_and_off_diagonal(n: int, method: str) -> None:
    labels = tied_entries(solve(symmetric(n), symmetric(n), method=method))
    eye = torch.eye(n, dtype=torch.bool)
    assert set(labels[eye].tolist()) == {0}
    assert set(labels[~eye].tolist()) == {1}


@pytest.mark.parametrize("method", ["svd", "orbits"])
def test_tied_entries_mark_masked_entries(method: str) -> None:
    n, r = 7, 1
    mask = band_mask(n, r)
    labels = tied_entries(solve(cyclic(n), cyclic(n), support=mask, method=method))
    assert bool((labels[~mask] == -1).all())
    assert bool((labels[mask] >= 0).all())
    assert len(set(labels[mask].tolist())) == 2 * r + 1


def test_canonical_of_an_empty_basis_is_empty() -> None:
    basis = solve(cyclic(3), cyclic(3), support=torch.zeros(3, 3, dtype=torch.bool))
    assert basis.shape == (0, 3, 3)
    assert canonical(basis).shape == (0, 3, 3)


def test_tied_entries_of_an_empty_basis_are_all_masked() -> None:
    basis = solve(V, SCALAR)
    assert basis.shape == (0, 1, 3)
    assert tied_entries(basis).tolist() == [[-1, -1, -1]]


def test_canonical_of_the_cross_product_is_levi_civita() -> None:
    c = canonical(solve(VV, V))
    # reduced row echelon: the first nonzero entry (row-major) is 1
    assert torch.allclose(c[0].reshape(3, 3, 3).abs(), LEVI_CIVITA.abs(), atol=1e-12)
    assert _equal_up_to_sign(c[0].reshape(3, 3, 3), LEVI_CIVITA)


# ---------------------------------------------------------------------------------------------
# the cache


def test_results_are_cached_and_returned_as_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = solve_module._null_space_svd

    def counting(*args: object) -> Tensor:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(solve_module, "_null_space_svd", counting)
    rep = cyclic(11)
    tol = 1.234e-9  # a tolerance used nowhere else: a fresh cache entry
    first = solve(rep, rep, method="svd", tol=tol)
    assert len(calls) == 1
    first.zero_()  # mutating a result must not reach the cache
    second = solve(cyclic(11), cyclic(11), method="svd", tol=tol)  # an equal Rep, a new object
    assert len(calls) == 1
    assert second.shape == (11, 11, 11)
    assert float(second.abs().sum()) > 0
    second.mul_(2.0)
    third = solve(rep, rep, method="svd", tol=tol)
    assert torch.equal(third, second / 2.0)
    assert third.data_ptr() != second.data_ptr()


def test_cache_distinguishes_masks_and_methods() -> None:
    rep = cyclic(6)
    full = solve(rep, rep, method="svd")
    banded = solve(rep, rep, method="svd", support=band_mask(6, 1))
    orbits = solve(rep, rep, method="orbits", support=band_mask(6, 1))
    assert (full.shape[0], banded.shape[0], orbits.shape[0]) == (6, 3, 3)


# ---------------------------------------------------------------------------------------------
# errors


def test_error_non_square_generator() -> None:
    with pytest.raises(ValueError, match="square matrix"):
        Rep(("X",), (torch.ones(2, 3),))
    with pytest.raises(ValueError, match="square matrix"):
        Rep(("X",), (), (torch.ones(3),))


def test_error_generators_of_different_sizes() -> None:
    with pytest.raises(ValueError, match="different sizes"):
        Rep(("X",), (torch.eye(2), torch.eye(3)))
    with pytest.raises(ValueError, match="different sizes"):
        Rep(("X",), (torch.eye(2),), (torch.zeros(3, 3),))


@pytest.mark.parametrize(
    "m", [torch.zeros(3, 3), torch.ones(3, 3), torch.diag(torch.tensor([1.0, 1.0, 0.0]))],
    ids=["zero", "rank-one", "rank-two"])
def test_error_non_invertible_generator(m: Tensor) -> None:
    with pytest.raises(ValueError, match="not invertible"):
        Rep(("X",), (torch.eye(3), m))


def test_error_no_generators() -> None:
    with pytest.raises(ValueError, match="at least one generator"):
        Rep(("X",), ())


def test_error_different_groups() -> None:
    with pytest.raises(ValueError, match="one group"):
        solve(cyclic(4), symmetric(4))
    with pytest.raises(ValueError, match="one group"):
        constraints(cyclic(4), symmetric(4))
    with pytest.raises(ValueError, match="one group"):
        solve(cyclic(4), so3_vectors())
    # the same group key with a different generating set is a different group for solve
    p = cyclic(4).generators[0]
    with pytest.raises(ValueError, match="same generators"):
        solve(cyclic(4), Rep(("C", 4), (p, p @ p)))
    # grid_rotations(k) shares the key of cyclic(4): they can be related (tested above)
    assert solve(cyclic(4), grid_rotations(2)).shape[0] == 4


def test_error_combining_different_groups() -> None:
    with pytest.raises(ValueError, match="direct_sum needs representations of one group"):
        direct_sum(cyclic(4), symmetric(4))
    with pytest.raises(ValueError, match="tensor_product needs representations of one group"):
        tensor_product(cyclic(4), symmetric(4))
    with pytest.raises(ValueError, match="at least one"):
        direct_sum()


def test_error_mask_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="support must have shape"):
        solve(cyclic(4), cyclic(4), support=torch.ones(4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="support must have shape"):
        solve(cyclic(4), cyclic(4).trivial(), support=torch.ones(4, 1, dtype=torch.bool))


def test_error_orbits_needs_permutations() -> None:
    with pytest.raises(ValueError, match="orbits"):
        solve(so3_vectors(), so3_vectors(), method="orbits")
    with pytest.raises(ValueError, match="orbits"):
        solve(rotation_2d(4), rotation_2d(4), method="orbits")


def test_error_invalid_method() -> None:
    with pytest.raises(ValueError, match="method must be"):
        solve(cyclic(3), cyclic(3), method="qr")  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [lambda: cyclic(0), lambda: dihedral(0), lambda: symmetric(0),
                                  lambda: grid_rotations(0), lambda: shifts_2d(0, 3),
                                  lambda: shifts_2d(3, -1), lambda: cyclic(-2)],
                         ids=["cyclic", "dihedral", "symmetric", "grid_rotations", "shifts_2d h",
                              "shifts_2d w", "cyclic negative"])
def test_error_non_positive_size(make: Callable[[], Rep]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        make()


def test_clear_cache_forgets_solutions() -> None:
    solve(cyclic(5), cyclic(5))
    assert solve_module._CACHE
    solve_module.clear_cache()
    assert not solve_module._CACHE


@pytest.mark.parametrize(("rep", "order"), [(cyclic(7), 7), (dihedral(5), 10), (symmetric(4), 24),
                                            (grid_rotations(3), 4), (grid_rotations(3, flips=True), 8)])
def test_elements_are_the_closure_of_the_generators(rep: Rep, order: int) -> None:
    elements = rep.elements()
    assert len(elements) == order == len(_closure([g.numpy() for g in rep.generators]))
    assert any(torch.equal(e, torch.eye(rep.dim, dtype=torch.float64)) for e in elements)


def test_elements_refuse_continuous_and_huge_groups() -> None:
    with pytest.raises(ValueError, match="continuous group"):
        so3_vectors().elements()
    with pytest.raises(ValueError, match="more than 100 elements"):
        symmetric(6).elements(limit=100)
