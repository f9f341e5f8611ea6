"""symlib.data.sets and symlib.data.graphs: determinism, labels against slow references, bad args."""

from __future__ import annotations

import itertools

import pytest
import torch

from symlib.data.graphs import count_triangles, cycle_graph, distance_graphs, erdos_renyi, hop_distances
from symlib.data.sets import digit_images, digit_sets, flatten

pytestmark = pytest.mark.usefixtures("single_threaded_torch")


def test_digit_pools_are_disjoint_and_complete() -> None:
    (xa, ya), (xb, yb) = digit_images("train"), digit_images("test")
    assert xa.shape == (1000, 64) and xb.shape == (797, 64) and xa.dtype == torch.float32
    assert 0.0 <= float(xa.min()) and float(xa.max()) <= 1.0
    assert set(ya.tolist()) == set(yb.tolist()) == set(range(10))
    # no image of the test pool is a row of the training pool (as an index split: no overlap)
    train_rows = {r.numpy().tobytes() for r in xa}
    shared = sum(r.numpy().tobytes() in train_rows for r in xb)
    assert shared <= 5                                 # a few duplicate images exist in the dataset


def test_digit_sets_are_deterministic_and_labelled_with_the_sum() -> None:
    a, b = digit_sets(50, (1, 10), seed=3), digit_sets(50, (1, 10), seed=3)
    assert all(torch.equal(s.x, t.x) and torch.equal(s.y, t.y) for s, t in zip(a, b))
    x_pool, y_pool = digit_images("train")
    label = {}
    for r, d in zip(x_pool, y_pool.tolist()):
        label.setdefault(r.numpy().tobytes(), set()).add(d)
    for s in a:
        assert 1 <= s.x.shape[0] <= 10 and s.x.shape[1] == 64
        assert float(s.y) == float(s.digits.sum()) and s.y.dtype == torch.float32
        # every element is an image of the pool with that digit
        assert all(d in label[r.numpy().tobytes()] for r, d in zip(s.x, s.digits.tolist()))
    assert not torch.equal(digit_sets(5, 4, seed=0)[0].x, digit_sets(5, 4, seed=1)[0].x)


def test_fixed_size_and_flat_convention() -> None:
    sets = digit_sets(7, 5, split="test", seed=0)
    x, batch, y = flatten(sets)
    assert x.shape == (35, 64) and torch.equal(batch, torch.arange(7).repeat_interleave(5))
    assert torch.equal(y, torch.cat([s.y for s in sets]))


@pytest.mark.parametrize("kwargs,match", [({"sizes": (0, 3)}, "sizes"), ({"sizes": (5, 3)}, "sizes"),
                                          ({"split": "val"}, "unknown split"), ({"num_sets": 0}, "num_sets")])
def test_digit_sets_bad_arguments(kwargs: dict, match: str) -> None:
    args = {"num_sets": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        digit_sets(**args)


def _slow_distances(edge_index: torch.Tensor, n: int, source: int) -> list[int]:
    """Floyd–Warshall, the obviously-correct reference."""
    inf = 10**9
    d = [[0 if i == j else inf for j in range(n)] for i in range(n)]
    for u, v in edge_index.T.tolist():
        d[u][v] = 1
    for k, i, j in itertools.product(range(n), repeat=3):
        d[i][j] = min(d[i][j], d[i][k] + d[k][j])
    return [x if x < inf else -1 for x in d[source]]


def test_erdos_renyi_graphs_are_simple_undirected_and_seeded() -> None:
    gen = torch.Generator().manual_seed(0)
    e = erdos_renyi(30, 3.0, gen)
    assert e.dtype == torch.long and e.shape[0] == 2
    assert not bool((e[0] == e[1]).any())                                   # no self-loops
    assert {tuple(p) for p in e.T.tolist()} == {tuple(p) for p in e.flip(0).T.tolist()}  # undirected
    assert len({tuple(p) for p in e.T.tolist()}) == e.shape[1]              # no duplicates
    assert torch.equal(e, erdos_renyi(30, 3.0, torch.Generator().manual_seed(0)))
    degrees = [erdos_renyi(200, 3.0, torch.Generator().manual_seed(s)).shape[1] / 200 for s in range(5)]
    assert 2.5 < sum(degrees) / 5 < 3.5                                      # mean degree as asked
    assert erdos_renyi(1, 3.0).shape == (2, 0)


def test_hop_distances_match_floyd_warshall() -> None:
    gen = torch.Generator().manual_seed(1)
    for n in (1, 5, 12):
        e = erdos_renyi(n, 2.0, gen)
        for source in range(n):
            assert hop_distances(e, n, source).tolist() == _slow_distances(e, n, source)


def test_triangles() -> None:
    assert count_triangles(cycle_graph(3), 3) == 1 and count_triangles(cycle_graph(6), 6) == 0
    two = torch.cat([cycle_graph(3), cycle_graph(3) + 3], dim=1)
    assert count_triangles(two, 6) == 2
    complete = erdos_renyi(6, 5.0)                                           # p = 1: K6
    assert count_triangles(complete, 6) == 20


def test_distance_graphs_labels_and_determinism() -> None:
    graphs = distance_graphs(20, (3, 9), avg_degree=2.0, max_hops=2, seed=5)
    again = distance_graphs(20, (3, 9), avg_degree=2.0, max_hops=2, seed=5)
    for g, h in zip(graphs, again):
        assert torch.equal(g.edge_index, h.edge_index) and torch.equal(g.y, h.y)
        n = g.num_nodes
        assert 3 <= n <= 9 and g.x.shape == (n, 2) and torch.all(g.x.sum(1) == 1)
        source = int(g.x[:, 0].argmax())
        assert int(g.x[:, 0].sum()) == 1
        dist = torch.tensor(_slow_distances(g.edge_index, n, source))
        expected = torch.where((dist < 0) | (dist > 2), 3, dist)
        assert torch.equal(g.y, expected)


@pytest.mark.parametrize("call,match", [
    (lambda: erdos_renyi(0, 2.0), "at least one node"),
    (lambda: erdos_renyi(5, -1.0), "non-negative"),
    (lambda: cycle_graph(2), "at least 3"),
    (lambda: hop_distances(cycle_graph(4), 4, 4), "source"),
    (lambda: hop_distances(cycle_graph(5), 4, 0), "outside"),
    (lambda: count_triangles(cycle_graph(4).float(), 4), "LongTensor"),
    (lambda: distance_graphs(3, (4, 2)), "sizes"),
    (lambda: distance_graphs(0), "num_graphs"),
])
def test_graph_bad_arguments(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
