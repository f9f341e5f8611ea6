"""Tests for symlib.groups: group laws, element sets, concrete actions and input validation.

Every action is checked against the same laws (in the style of e3nn's ``util/test.py``), in float32
and float64, with tolerances from :func:`symlib.equivariance.tolerance`:

* the identity acts trivially;
* the action law ``act(compose(g, h), x) == act(g, act(h, x))`` ("first h, then g");
* ``act(inverse(g), act(g, x)) == x``;
* the group axioms on elements (identity, inverses, associativity), compared with ``Action.equal``.

Discrete actions (shifts, rotations by 90°, flips, permutations) only move entries around, so for
them "equal" means bit-for-bit equal; rigid motions are compared within the dtype's tolerance.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor
from torch_geometric.data import Data

from symlib.equivariance import relative_error, tolerance
from symlib.groups import (
    Action,
    CyclicShift1d,
    CyclicShift2d,
    Dihedral4,
    Euclidean3d,
    GraphPermutation,
    Permutation,
    Product,
    Rot90,
    Trivial,
)

#: the dtype group elements of Euclidean3d are stored in
ELEMENT_DTYPE = torch.float64
LAWS = settings(deadline=None, max_examples=25, derandomize=True)
SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
#: number of samples drawn when a test needs to see every "kind" of random element
MANY_SAMPLES = 64
#: samples for the (deterministically seeded) Haar-mean check, and its bound: each entry of a Haar
#: rotation has mean 0 and variance 1/3, so the sample mean has standard error sqrt(1/3 / N); allow 5.
HAAR_SAMPLES = 2000
HAAR_MEAN_BOUND = 5 * math.sqrt(1 / 3 / HAAR_SAMPLES)
#: the largest n for which S_n is enumerated (n! <= 720)
LARGEST_ENUMERATED_N = 6


#: Euclidean3d.sample's 3×3 QR costs ~20 µs on one thread but ~0.5 ms with a thread pool, and the
#: property tests below sample thousands of elements (see tests/conftest.py)
pytestmark = pytest.mark.usefixtures("single_threaded_torch")


# --------------------------------------------------------------------------------------------------
# comparison helpers


def assert_same(actual: Any, expected: Any, dtype: torch.dtype, exact: bool) -> None:
    """Compare tensors, tuples of them, or graphs: bit-exactly for discrete actions, else within the
    relative tolerance of ``dtype``. Shapes and dtypes must match either way."""
    if isinstance(expected, Data):
        assert isinstance(actual, Data)
        assert sorted(actual.keys()) == sorted(expected.keys())
        for name in expected.keys():
            assert_same(actual[name], expected[name], dtype, exact)
    elif isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same(a, e, dtype, exact)
    elif isinstance(expected, Tensor):
        assert isinstance(actual, Tensor)
        assert actual.shape == expected.shape and actual.dtype == expected.dtype
        if exact or not expected.is_floating_point():
            assert torch.equal(actual, expected)
        else:
            assert relative_error(actual, expected) <= tolerance(dtype)
    else:
        assert actual == expected


def key(g: Any) -> Any:
    """A hashable form of a finite-group element (ints, tuples of ints, permutation tensors)."""
    return tuple(g.tolist()) if isinstance(g, Tensor) else g


# --------------------------------------------------------------------------------------------------
# the zoo of actions and matching inputs


def random_graph(n: int, num_edges: int, gen: torch.Generator, dtype: torch.dtype) -> Data:
    """A random multigraph with node features, positions, edge attributes and a graph-level target."""
    edge_index = torch.randint(n, (2, num_edges), generator=gen)
    return Data(
        x=torch.randn(n, 4, generator=gen, dtype=dtype),
        edge_index=edge_index,
        pos=torch.randn(n, 3, generator=gen, dtype=dtype),
        edge_attr=torch.randn(num_edges, 2, generator=gen, dtype=dtype),
        y=torch.randn(1, 2, generator=gen, dtype=dtype),
    )


def tensor(*shape: int) -> Callable[[torch.Generator, torch.dtype], Tensor]:
    return lambda gen, dtype: torch.randn(*shape, generator=gen, dtype=dtype)


@dataclass(frozen=True)
class Case:
    name: str
    action: Action
    make_input: Callable[[torch.Generator, torch.dtype], Any]
    exact: bool = True  # discrete actions only move entries: results are bit-exact

    def input(self, seed: int, dtype: torch.dtype) -> Any:
        return self.make_input(torch.Generator().manual_seed(seed), dtype)


EUCLIDEAN_VARIANTS = {
    "SO3": dict(reflections=False, translations=False),
    "O3": dict(reflections=True, translations=False),
    "SE3": dict(reflections=False, translations=True),
    "E3": dict(reflections=True, translations=True),
}

CASES = [
    Case("Z7-last-dim", CyclicShift1d(7), tensor(2, 3, 7)),
    Case("Z5-dim0", CyclicShift1d(5, dim=0), tensor(5, 3)),
    Case("Z6-dim1", CyclicShift1d(6, dim=1), tensor(2, 6, 3)),
    Case("Z4-dim-2", CyclicShift1d(4, dim=-2), tensor(3, 4, 2)),
    Case("Z1", CyclicShift1d(1), tensor(3, 1)),
    Case("Z5xZ6", CyclicShift2d(5, 6), tensor(2, 3, 5, 6)),
    Case("Z4xZ4-unbatched", CyclicShift2d(4, 4), tensor(4, 4)),
    Case("C4", Rot90(), tensor(2, 3, 5, 5)),
    Case("C4-even", Rot90(), tensor(4, 4)),
    Case("D4", Dihedral4(), tensor(2, 5, 5)),
    Case("D4-even", Dihedral4(), tensor(3, 4, 4)),
    Case("S6-dim0", Permutation(6), tensor(6, 3)),
    Case("S5-dim-2", Permutation(5, dim=-2), tensor(2, 5, 3)),
    Case("S9-vector", Permutation(9), tensor(9)),
    Case("graph-S6", GraphPermutation(6), lambda gen, dt: random_graph(6, 6, gen, dt)),
    Case("graph-S7", GraphPermutation(7), lambda gen, dt: random_graph(7, 15, gen, dt)),
    Case("trivial", Trivial(), tensor(3, 2)),
    *(Case(f"{name}-points", Euclidean3d(**kw), tensor(2, 9, 3), exact=False)
      for name, kw in EUCLIDEAN_VARIANTS.items()),
    *(Case(f"{name}-vectors", Euclidean3d(**kw).on_vectors(), tensor(9, 3), exact=False)
      for name, kw in EUCLIDEAN_VARIANTS.items()),
    Case("product-SE3-points-vectors-trivial",
         Product(Euclidean3d(), Euclidean3d().on_vectors(), Trivial()),
         lambda gen, dt: (torch.randn(8, 3, generator=gen, dtype=dt),
                          torch.randn(8, 3, generator=gen, dtype=dt),
                          torch.randn(8, generator=gen, dtype=dt)),
         exact=False),
    Case("product-graph-and-rows", Product(GraphPermutation(6), Permutation(6, dim=0)),
         lambda gen, dt: (random_graph(6, 10, gen, dt), torch.randn(6, 2, generator=gen, dtype=dt))),
]
CASE_IDS = [c.name for c in CASES]


# --------------------------------------------------------------------------------------------------
# the laws, for every action


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@LAWS
@given(seed=SEEDS)
def test_action_laws(case: Case, dtype: torch.dtype, seed: int) -> None:
    """Identity, composition ("first h, then g") and inverse laws of the action on inputs.

    (One test for the three laws: Hypothesis' per-example overhead dominates these tiny actions.)
    """
    G, gen = case.action, torch.Generator().manual_seed(seed)
    g, h = G.sample(gen), G.sample(gen)
    x = case.input(seed, dtype)
    # the identity acts trivially
    assert_same(G.act(G.identity(), x), x, dtype, case.exact)
    # the action law
    assert_same(G.act(G.compose(g, h), x), G.act(g, G.act(h, x)), dtype, case.exact)
    # the inverse undoes the action, on either side
    assert_same(G.act(G.inverse(g), G.act(g, x)), x, dtype, case.exact)
    assert_same(G.act(g, G.act(G.inverse(g), x)), x, dtype, case.exact)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@LAWS
@given(seed=SEEDS)
def test_group_axioms(case: Case, seed: int) -> None:
    G, gen = case.action, torch.Generator().manual_seed(seed)
    a, b, c = G.sample(gen), G.sample(gen), G.sample(gen)
    e = G.identity()
    assert G.equal(G.compose(a, G.inverse(a)), e)
    assert G.equal(G.compose(G.inverse(a), a), e)
    assert G.equal(G.compose(e, a), a) and G.equal(G.compose(a, e), a)
    assert G.equal(G.inverse(G.inverse(a)), a)
    assert G.equal(G.compose(G.compose(a, b), c), G.compose(a, G.compose(b, c)))
    # (ab)^-1 = b^-1 a^-1
    assert G.equal(G.inverse(G.compose(a, b)), G.compose(G.inverse(b), G.inverse(a)))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sampling_is_reproducible(case: Case) -> None:
    G = case.action
    first = [G.sample(torch.Generator().manual_seed(7)) for _ in range(3)]
    second = [G.sample(torch.Generator().manual_seed(7)) for _ in range(3)]
    assert all(G.equal(g, h) for g, h in zip(first, second))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_acting_does_not_mutate_the_input(case: Case) -> None:
    x = case.input(0, torch.float64)
    before = case.input(0, torch.float64)
    case.action.act(case.action.sample(torch.Generator().manual_seed(1)), x)
    assert_same(x, before, torch.float64, exact=True)


# --------------------------------------------------------------------------------------------------
# finite groups: their element lists


FINITE = [
    ("Z1", CyclicShift1d(1), 1),
    ("Z7", CyclicShift1d(7), 7),
    ("Z3xZ5", CyclicShift2d(3, 5), 15),
    ("C4", Rot90(), 4),
    ("D4", Dihedral4(), 8),
    ("S1", Permutation(1), 1),
    ("S3", Permutation(3, dim=-2), 6),
    ("S4", Permutation(4), 24),
    ("graph-S4", GraphPermutation(4), 24),
    ("trivial", Trivial(), 1),
    ("product-C4", Product(Rot90(), Trivial()), 4),
]
FINITE_IDS = [name for name, _, _ in FINITE]


@pytest.mark.parametrize(("name", "G", "order"), FINITE, ids=FINITE_IDS)
def test_elements_size_and_distinct(name: str, G: Action, order: int) -> None:
    elements = G.elements()
    assert elements is not None and len(elements) == order
    assert len({key(g) for g in elements}) == order


@pytest.mark.parametrize("n", range(1, LARGEST_ENUMERATED_N + 1))
def test_symmetric_group_has_n_factorial_elements(n: int) -> None:
    for G in (Permutation(n), GraphPermutation(n)):
        elements = G.elements()
        assert elements is not None and len(elements) == math.factorial(n)
        assert len({key(g) for g in elements}) == math.factorial(n)
        assert all(sorted(g.tolist()) == list(range(n)) and g.dtype == torch.long for g in elements)


@pytest.mark.parametrize("G", [Permutation(LARGEST_ENUMERATED_N + 1), Permutation(20),
                               GraphPermutation(LARGEST_ENUMERATED_N + 1), Euclidean3d(),
                               Euclidean3d(reflections=True, translations=False),
                               Product(Euclidean3d(), Euclidean3d().on_vectors())], ids=repr)
def test_large_or_infinite_groups_have_no_element_list(G: Action) -> None:
    assert G.elements() is None


@pytest.mark.parametrize(("name", "G", "order"), FINITE, ids=FINITE_IDS)
def test_elements_closed_under_group_operations(name: str, G: Action, order: int) -> None:
    elements = G.elements()
    keys = {key(g) for g in elements}
    assert key(G.identity()) in keys
    for g in elements:
        assert key(G.inverse(g)) in keys
    for g, h in itertools.product(elements, repeat=2):
        assert key(G.compose(g, h)) in keys


@pytest.mark.parametrize(("name", "G", "order"), FINITE, ids=FINITE_IDS)
def test_samples_are_elements(name: str, G: Action, order: int) -> None:
    keys = {key(g) for g in G.elements()}
    gen = torch.Generator().manual_seed(0)
    samples = {key(G.sample(gen)) for _ in range(MANY_SAMPLES)}
    assert samples <= keys
    if order <= 8:  # small groups: a uniform sampler reaches every element in 64 draws
        assert samples == keys


@pytest.mark.parametrize("G", [Rot90(), Dihedral4()], ids=repr)
def test_image_groups_act_faithfully_and_lawfully_on_all_pairs(G: Action, dtype: torch.dtype) -> None:
    """Exhaustive version of the action law; distinct elements give distinct images."""
    x = torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(0), dtype=dtype)
    images = [G.act(g, x) for g in G.elements()]
    for i, j in itertools.combinations(range(len(images)), 2):
        assert not torch.equal(images[i], images[j])
    for g, h in itertools.product(G.elements(), repeat=2):
        assert torch.equal(G.act(G.compose(g, h), x), G.act(g, G.act(h, x)))


# --------------------------------------------------------------------------------------------------
# concrete, hand-computable actions


def test_cyclic_shift_moves_entry_i_to_i_plus_k(dtype: torch.dtype) -> None:
    x = torch.arange(4, dtype=dtype)
    assert torch.equal(CyclicShift1d(4).act(1, x), torch.tensor([3, 0, 1, 2], dtype=dtype))
    assert torch.equal(CyclicShift1d(4).act(3, x), torch.tensor([1, 2, 3, 0], dtype=dtype))
    # along dim 0 of a matrix: rows move, columns stay
    m = torch.arange(6, dtype=dtype).reshape(3, 2)
    assert torch.equal(CyclicShift1d(3, dim=0).act(1, m), m[[2, 0, 1]])


def test_cyclic_shift_2d_moves_pixel_i_j_to_i_plus_a_j_plus_b(dtype: torch.dtype) -> None:
    G = CyclicShift2d(4, 5)
    x = torch.zeros(4, 5, dtype=dtype)
    x[3, 1] = 1
    y = G.act((2, 4), x)
    assert y[(3 + 2) % 4, (1 + 4) % 5] == 1 and y.sum() == 1


def test_rot90_turns_counter_clockwise(dtype: torch.dtype) -> None:
    x = torch.tensor([[1, 2], [3, 4]], dtype=dtype)
    assert torch.equal(Rot90().act(1, x), torch.tensor([[2, 4], [1, 3]], dtype=dtype))
    assert torch.equal(Rot90().act(2, x), torch.tensor([[4, 3], [2, 1]], dtype=dtype))
    assert torch.equal(Rot90().act(3, x), torch.tensor([[3, 1], [4, 2]], dtype=dtype))


def test_dihedral_mirror_then_rotate_by_hand(dtype: torch.dtype) -> None:
    D = Dihedral4()
    x = torch.tensor([[1, 2], [3, 4]], dtype=dtype)
    assert torch.equal(D.act((1, 0), x), torch.tensor([[2, 1], [4, 3]], dtype=dtype))  # left–right
    assert torch.equal(D.act((1, 1), x), x.T)                    # mirror, then a quarter turn
    assert torch.equal(D.act((1, 3), x), torch.tensor([[4, 2], [3, 1]], dtype=dtype))  # anti-transpose
    for k in range(4):  # the rotations of D4 are exactly C4
        assert torch.equal(D.act((0, k), x), Rot90().act(k, x))


def test_dihedral_mirror_reverses_rotation(dtype: torch.dtype) -> None:
    """mirror ∘ rot(k) = rot(-k) ∘ mirror: checked on a 3×3 image and in the composition rule."""
    D, m = Dihedral4(), (1, 0)
    x = torch.arange(9, dtype=dtype).reshape(3, 3)
    for k in range(4):
        rot, rot_back = (0, k), (0, (-k) % 4)
        assert torch.equal(D.act(m, D.act(rot, x)), D.act(rot_back, D.act(m, x)))
        assert D.compose(m, rot) == D.compose(rot_back, m) == (1, (-k) % 4)
    # concretely: mirror after a quarter turn of [[0,1,2],[3,4,5],[6,7,8]]
    # (a quarter turn after the mirror would be the transpose; this order is the anti-transpose)
    expected = torch.tensor([[8, 5, 2], [7, 4, 1], [6, 3, 0]], dtype=dtype)
    assert torch.equal(D.act(m, D.act((0, 1), x)), expected)
    assert torch.equal(D.act((0, 1), D.act(m, x)), x.T)
    # the mirrors are their own inverses; D4 is not abelian
    assert all(D.inverse((1, k)) == (1, k) for k in range(4))
    assert D.compose((1, 0), (0, 1)) != D.compose((0, 1), (1, 0))


def test_permutation_puts_old_element_p_i_at_position_i(dtype: torch.dtype) -> None:
    x = torch.tensor([10, 20, 30], dtype=dtype)
    p = torch.tensor([2, 0, 1])
    assert torch.equal(Permutation(3).act(p, x), torch.tensor([30, 10, 20], dtype=dtype))
    # along dim -2 of a batch of sets: the rows of each set move, the features stay
    xs = torch.arange(12, dtype=dtype).reshape(2, 3, 2)
    assert torch.equal(Permutation(3, dim=-2).act(p, xs), xs[:, [2, 0, 1], :])
    # compose(g, h) is "first h, then g"
    g, h = torch.tensor([1, 0, 2]), torch.tensor([0, 2, 1])
    assert torch.equal(Permutation(3).act(Permutation(3).compose(g, h), x),
                       Permutation(3).act(g, Permutation(3).act(h, x)))


# --------------------------------------------------------------------------------------------------
# Euclidean3d


@pytest.mark.parametrize("variant", EUCLIDEAN_VARIANTS, ids=str)
def test_euclidean_group_keys(variant: str) -> None:
    E = Euclidean3d(**EUCLIDEAN_VARIANTS[variant])
    assert E.group == (variant[:-1], 3)
    assert E.on_vectors().group == E.group  # same group, other action
    assert E.on_vectors().on == "vectors" and E.on == "points"
    assert (E.on_vectors().reflections, E.on_vectors().translations) == (E.reflections, E.translations)


@pytest.mark.parametrize("variant", EUCLIDEAN_VARIANTS, ids=str)
@LAWS
@given(seed=SEEDS)
def test_euclidean_samples_are_orthogonal(variant: str, seed: int) -> None:
    E = Euclidean3d(**EUCLIDEAN_VARIANTS[variant])
    R, t = E.sample(torch.Generator().manual_seed(seed))
    tol = tolerance(ELEMENT_DTYPE)
    assert R.shape == (3, 3) and t.shape == (3,)
    assert R.dtype == t.dtype == ELEMENT_DTYPE
    assert relative_error(R @ R.T, torch.eye(3, dtype=ELEMENT_DTYPE)) <= tol
    det = float(torch.linalg.det(R))
    if E.reflections:
        assert min(abs(det - 1), abs(det + 1)) <= tol
    else:
        assert abs(det - 1) <= tol
    if not E.translations:
        assert torch.equal(t, torch.zeros(3, dtype=ELEMENT_DTYPE))


@pytest.mark.parametrize("variant", EUCLIDEAN_VARIANTS, ids=str)
def test_euclidean_reflections_reachable_only_when_allowed(variant: str) -> None:
    E = Euclidean3d(**EUCLIDEAN_VARIANTS[variant])
    gen = torch.Generator().manual_seed(0)
    signs = {round(float(torch.linalg.det(E.sample(gen)[0]))) for _ in range(MANY_SAMPLES)}
    assert signs == ({-1, 1} if E.reflections else {1})
    translated = [bool(E.sample(gen)[1].abs().sum() > 0) for _ in range(MANY_SAMPLES)]
    assert all(translated) if E.translations else not any(translated)


def test_euclidean_rotations_have_haar_mean_zero() -> None:
    """Haar measure is invariant under left multiplication by any rotation Q, so its mean M = QM
    for every Q, i.e. M = 0. A sampler biased towards the identity (a classic mistake: QR without
    the sign correction) would show a positive diagonal."""
    gen = torch.Generator().manual_seed(0)
    E = Euclidean3d(translations=False)
    mean = torch.stack([E.sample(gen)[0] for _ in range(HAAR_SAMPLES)]).mean(0)
    assert mean.abs().max() <= HAAR_MEAN_BOUND


@pytest.mark.parametrize("variant", EUCLIDEAN_VARIANTS, ids=str)
@LAWS
@given(seed=SEEDS)
def test_euclidean_preserves_pairwise_distances(variant: str, dtype: torch.dtype, seed: int) -> None:
    E, gen = Euclidean3d(**EUCLIDEAN_VARIANTS[variant]), torch.Generator().manual_seed(seed)
    p = torch.randn(12, 3, generator=gen, dtype=dtype)
    q = E.act(E.sample(gen), p)
    assert q.dtype == dtype and q.shape == p.shape

    def distances(z: Tensor) -> Tensor:
        return (z[:, None, :] - z[None, :, :]).norm(dim=-1)

    assert relative_error(distances(q), distances(p)) <= tolerance(dtype)


@pytest.mark.parametrize("variant", EUCLIDEAN_VARIANTS, ids=str)
@LAWS
@given(seed=SEEDS)
def test_euclidean_vectors_ignore_translation(variant: str, dtype: torch.dtype, seed: int) -> None:
    E, gen = Euclidean3d(**EUCLIDEAN_VARIANTS[variant]), torch.Generator().manual_seed(seed)
    R, t = E.sample(gen)
    v = torch.randn(2, 7, 3, generator=gen, dtype=dtype)
    V, tol = E.on_vectors(), tolerance(dtype)
    assert relative_error(V.act((R, t), v), v @ R.T.to(dtype)) <= tol
    assert relative_error(E.act((R, t), v), v @ R.T.to(dtype) + t.to(dtype)) <= tol
    # a pure translation moves points and leaves vectors alone
    shift = (torch.eye(3, dtype=ELEMENT_DTYPE), torch.randn(3, generator=gen, dtype=ELEMENT_DTYPE))
    assert torch.equal(V.act(shift, v), v)
    assert relative_error(E.act(shift, v), v + shift[1].to(dtype)) <= tol
    # the difference of two points is a vector
    p, q = v[0], v[1]
    assert relative_error(E.act((R, t), p) - E.act((R, t), q), V.act((R, t), p - q)) <= tol


# --------------------------------------------------------------------------------------------------
# GraphPermutation


def distinct_features_graph(n: int, num_edges: int, seed: int, dtype: torch.dtype) -> Data:
    """A random graph whose feature rows identify its nodes (column 0 is the node's label)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.cat([torch.arange(n, dtype=dtype)[:, None], torch.randn(n, 2, generator=gen, dtype=dtype)], 1)
    edge_index = torch.randint(n, (2, num_edges), generator=gen)
    return Data(x=x, edge_index=edge_index, pos=torch.randn(n, 3, generator=gen, dtype=dtype),
                edge_attr=torch.randn(num_edges, 2, generator=gen, dtype=dtype),
                y=torch.randn(1, 2, generator=gen, dtype=dtype))


def feature_edges(data: Data) -> Counter:
    """The multiset of edges written as (features of source, features of target)."""
    rows = [tuple(r) for r in data.x.tolist()]
    return Counter((rows[u], rows[v]) for u, v in data.edge_index.T.tolist())


@LAWS
@given(seed=SEEDS, n=st.integers(1, 9), num_edges=st.integers(0, 20))
def test_graph_relabelling_is_the_same_graph(dtype: torch.dtype, seed: int, n: int, num_edges: int) -> None:
    data = distinct_features_graph(n, num_edges, seed, dtype)
    G = GraphPermutation(n)
    p = G.sample(torch.Generator().manual_seed(seed + 1))
    new = G.act(p, data)
    # new node i is old node p[i]: its rows moved with it
    assert torch.equal(new.x, data.x[p]) and torch.equal(new.pos, data.pos[p])
    # same edges between the same feature rows, in the same order, with the same attributes
    assert feature_edges(new) == feature_edges(data)
    assert torch.equal(new.x[new.edge_index], data.x[data.edge_index])
    assert torch.equal(new.edge_attr, data.edge_attr) and torch.equal(new.y, data.y)
    # degrees are permuted like the nodes
    def degree(d: Data, row: int) -> Tensor:
        return torch.bincount(d.edge_index[row], minlength=n)
    for row in (0, 1):
        assert torch.equal(degree(new, row), degree(data, row)[p])
    assert new.num_nodes == data.num_nodes and new.edge_index.dtype == torch.long


def test_graph_relabelling_by_hand() -> None:
    # path 0 -> 1 -> 2, relabelled by p = [2, 0, 1]: new 0 is old 2, new 1 is old 0, new 2 is old 1
    data = Data(x=torch.tensor([[0.0], [1.0], [2.0]]), edge_index=torch.tensor([[0, 1], [1, 2]]))
    new = GraphPermutation(3).act(torch.tensor([2, 0, 1]), data)
    assert torch.equal(new.x, torch.tensor([[2.0], [0.0], [1.0]]))
    # old edge 0->1 is new 1->2, old edge 1->2 is new 2->0
    assert torch.equal(new.edge_index, torch.tensor([[1, 2], [2, 0]]))


# --------------------------------------------------------------------------------------------------
# Product


def test_product_acts_componentwise_with_one_element(dtype: torch.dtype) -> None:
    E = Euclidean3d(reflections=True)
    P = Product(E, E.on_vectors(), Trivial())
    assert P.group == E.group
    gen = torch.Generator().manual_seed(0)
    g = P.sample(gen)
    pos, vel, charge = (torch.randn(5, 3, generator=gen, dtype=dtype) for _ in range(3))
    out = P.act(g, (pos, vel, charge))
    assert isinstance(out, tuple) and len(out) == 3
    tol = tolerance(dtype)
    assert relative_error(out[0], E.act(g, pos)) <= tol
    assert relative_error(out[1], E.on_vectors().act(g, vel)) <= tol
    assert torch.equal(out[2], charge)
    as_list = P.act(g, [pos, vel, charge])  # a list is accepted like a tuple
    assert isinstance(as_list, tuple) and all(torch.equal(a, b) for a, b in zip(as_list, out))


def test_product_of_trivial_actions_only() -> None:
    P = Product(Trivial(), Trivial())
    x = (torch.ones(2), torch.zeros(3))
    assert P.act(P.sample(), x) == x


# --------------------------------------------------------------------------------------------------
# bad inputs and bad constructor arguments


BAD_INPUTS = [
    ("1d-wrong-size", CyclicShift1d(5), torch.zeros(2, 4), ValueError, r"size 5.*shape \(2, 4\)"),
    ("1d-dim-out-of-range", CyclicShift1d(3, dim=2), torch.zeros(3), ValueError, r"dim 2.*shape \(3,\)"),
    ("1d-wrong-size-dim0", CyclicShift1d(3, dim=0), torch.zeros(2, 3), ValueError, r"dim 0 of size 3"),
    ("1d-not-a-tensor", CyclicShift1d(3), [0.0, 1.0, 2.0], TypeError, r"acts on tensors, got list"),
    ("2d-wrong-size", CyclicShift2d(4, 4), torch.zeros(2, 4, 5), ValueError,
     r"\[\.\.\., 4, 4\].*\(2, 4, 5\)"),
    ("2d-too-few-dims", CyclicShift2d(4, 4), torch.zeros(4), ValueError, r"\[\.\.\., 4, 4\]"),
    ("2d-not-a-tensor", CyclicShift2d(2, 2), [[0, 1], [2, 3]], ValueError, r"got list"),
    ("rot90-not-square", Rot90(), torch.zeros(3, 4), ValueError, r"square.*\(3, 4\)"),
    ("rot90-1d", Rot90(), torch.zeros(4), ValueError, r"square"),
    ("d4-not-square", Dihedral4(), torch.zeros(2, 5, 4), ValueError, r"square.*\(2, 5, 4\)"),
    ("perm-wrong-size", Permutation(5), torch.zeros(4, 3), ValueError, r"permutes 5 elements along dim 0"),
    ("perm-dim-2-wrong-size", Permutation(5, dim=-2), torch.zeros(2, 5, 4).transpose(1, 2),
     ValueError, r"permutes 5 elements along dim -2.*\(2, 4, 5\)"),
    ("perm-dim-2-too-few-dims", Permutation(5, dim=-2), torch.zeros(5), ValueError, r"dim -2"),
    ("euclid-last-dim-2", Euclidean3d(), torch.zeros(4, 2), ValueError, r"\[\.\.\., 3\].*\(4, 2\)"),
    ("euclid-scalar", Euclidean3d(), torch.tensor(1.0), ValueError, r"\[\.\.\., 3\]"),
    ("euclid-vectors-last-dim-4", Euclidean3d().on_vectors(), torch.zeros(4, 4), ValueError,
     r"3D vectors"),
    ("euclid-int-coordinates", Euclidean3d(), torch.zeros(4, 3, dtype=torch.long), ValueError,
     r"floating-point coordinates.*int64"),
    ("euclid-not-a-tensor", Euclidean3d(), [[0.0, 0.0, 0.0]], ValueError, r"got list"),
    ("graph-not-data", GraphPermutation(3), torch.zeros(3, 2), TypeError,
     r"torch_geometric Data, got Tensor"),
    ("graph-wrong-nodes", GraphPermutation(5),
     Data(x=torch.zeros(4, 2), edge_index=torch.tensor([[0], [1]])), ValueError, r"5 nodes, got 4"),
    ("product-wrong-length", Product(CyclicShift1d(3), CyclicShift1d(3, dim=0)),
     (torch.zeros(3),), ValueError, r"tuple of 2 inputs, got tuple of length 1"),
    ("product-too-long", Product(Euclidean3d(), Trivial()),
     [torch.zeros(2, 3)] * 3, ValueError, r"tuple of 2 inputs, got list of length 3"),
    ("product-not-a-tuple", Product(CyclicShift1d(3)), torch.zeros(3), ValueError,
     r"tuple of 1 inputs, got Tensor"),
]


@pytest.mark.parametrize(("name", "G", "x", "error", "match"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_inputs_raise_naming_the_problem(name: str, G: Action, x: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        G.act(G.identity(), x)
    with pytest.raises(error, match=match):
        G.check(x)


def test_product_component_error_names_the_component() -> None:
    E = Euclidean3d()
    P = Product(E, E.on_vectors())
    with pytest.raises(ValueError, match=r"on='vectors'.*3D vectors of shape \[\.\.\., 3\], got \(3, 2\)"):
        P.act(P.identity(), (torch.zeros(3, 3), torch.zeros(3, 2)))


@pytest.mark.parametrize("G", [Permutation(4), GraphPermutation(4)], ids=repr)
@pytest.mark.parametrize("bad", [torch.tensor([0, 1, 2]), torch.tensor([0.0, 1.0, 2.0, 3.0]), [0, 1, 2, 3]],
                         ids=["too-short", "float", "list"])
def test_permutations_must_be_long_tensors_of_size_n(G: Action, bad: Any) -> None:
    x = Data(x=torch.zeros(4, 1), edge_index=torch.tensor([[0], [1]])) if isinstance(G, GraphPermutation) \
        else torch.zeros(4, 1)
    with pytest.raises(ValueError, match=r"permutation as a LongTensor of shape \[4\]"):
        G.act(bad, x)


BAD_CONSTRUCTORS = [
    ("Z0", lambda: CyclicShift1d(0), ValueError, r"n must be positive, got 0"),
    ("Z-3", lambda: CyclicShift1d(-3), ValueError, r"n must be positive, got -3"),
    ("Z0xZ3", lambda: CyclicShift2d(0, 3), ValueError, r"grid size must be positive, got 0×3"),
    ("Z3xZ-1", lambda: CyclicShift2d(3, -1), ValueError, r"grid size must be positive"),
    ("S0", lambda: Permutation(0), ValueError, r"n must be positive, got 0"),
    ("graph-S0", lambda: GraphPermutation(0), ValueError, r"n must be positive, got 0"),
    ("euclid-on-normals", lambda: Euclidean3d(on="normals"), ValueError,
     r"on must be 'points', 'vectors' or 'rotations', got 'normals'"),
    ("euclid-positional", lambda: Euclidean3d(True), TypeError, r"positional"),
    ("product-empty", lambda: Product(), ValueError, r"Product needs actions of one group"),
    ("product-Z-and-S", lambda: Product(CyclicShift1d(4), Permutation(4)), ValueError,
     r"one group.*\('S', 4\).*\('Z', 4\)"),
    ("product-Z4-and-Z5", lambda: Product(CyclicShift1d(4), CyclicShift1d(5)), ValueError, r"one group"),
    ("product-SE3-and-E3", lambda: Product(Euclidean3d(), Euclidean3d(reflections=True).on_vectors()),
     ValueError, r"one group"),
    ("product-SE3-and-SO3", lambda: Product(Euclidean3d(), Euclidean3d(translations=False)),
     ValueError, r"one group"),
    ("product-C4-and-D4", lambda: Product(Rot90(), Dihedral4(), Trivial()), ValueError, r"one group"),
]


@pytest.mark.parametrize(("name", "make", "error", "match"), BAD_CONSTRUCTORS,
                         ids=[b[0] for b in BAD_CONSTRUCTORS])
def test_bad_constructor_arguments_raise(name: str, make: Callable[[], Action], error: type,
                                         match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_repr_names_the_configuration() -> None:
    assert repr(CyclicShift1d(5, dim=0)) == "CyclicShift1d(n=5, dim=0)"
    assert repr(Permutation(3, dim=-2)) == "Permutation(n=3, dim=-2)"
    assert repr(Euclidean3d()) == "Euclidean3d(reflections=False, translations=True, on='points')"
    assert repr(Rot90()) == "Rot90()"


def test_reversal_and_sign_flip_are_z2_actions() -> None:
    from symlib.groups import Reversal, SignFlip

    x = torch.arange(6.0).view(2, 3)
    for action in (Reversal(), Reversal(dim=0), SignFlip()):
        for g in action.elements():
            for h in action.elements():
                assert torch.equal(action.act(action.compose(g, h), x), action.act(g, action.act(h, x)))
            assert torch.equal(action.act(action.inverse(g), action.act(g, x)), x)
    assert Reversal().act(1, x)[0].tolist() == [2.0, 1.0, 0.0]
    assert torch.equal(SignFlip().act(1, x), -x)
    with pytest.raises(ValueError, match="acts on tensors"):
        SignFlip().act(1, [1.0])


def test_a_zoom_repeats_the_central_window_and_has_no_inverse() -> None:
    """Zoom by 2: the central half-width window, each pixel a 2×2 block; composition multiplies the
    factors; a semigroup, so no inverse; non-square images and factors not dividing the side are named."""
    from symlib.groups import Zoom

    zoom, x = Zoom(), torch.arange(16.0).reshape(1, 4, 4)
    assert torch.equal(zoom.act(2, x), torch.tensor([[[5.0, 5, 6, 6], [5, 5, 6, 6], [9, 9, 10, 10],
                                                      [9, 9, 10, 10]]]))
    assert torch.equal(zoom.act(1, x), x) and zoom.compose(2, 2) == 4
    assert torch.equal(zoom.act(2, zoom.act(2, torch.arange(64.0).reshape(8, 8))),
                       zoom.act(4, torch.arange(64.0).reshape(8, 8)))
    with pytest.raises(ValueError, match="no inverse"):
        zoom.inverse(2)
    with pytest.raises(ValueError, match="square images"):
        zoom.act(2, torch.zeros(4, 6))
    with pytest.raises(ValueError, match="dividing the side"):
        zoom.act(3, x)
