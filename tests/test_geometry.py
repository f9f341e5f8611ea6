"""symlib.geometry: Haar rotations, complete graphs of batched systems (and their dense neighbour
tables), rotations about z."""

from __future__ import annotations

import math

import pytest
import torch

from symlib.geometry import complete_graph, neighbours, random_rotations, rotate_about_z

F64 = torch.float64


def test_random_rotations_are_rotations() -> None:
    r = random_rotations(100, torch.Generator().manual_seed(0))
    assert r.shape == (100, 3, 3) and r.dtype == F64
    assert torch.allclose(r @ r.mT, torch.eye(3, dtype=F64).expand(100, 3, 3), atol=1e-12)
    assert torch.allclose(torch.det(r), torch.ones(100, dtype=F64))
    assert random_rotations(3, dtype=torch.float32).dtype == torch.float32
    assert random_rotations(0).shape == (0, 3, 3)
    with pytest.raises(ValueError, match="non-negative"):
        random_rotations(-1)


def test_random_rotations_are_seeded_and_uniform() -> None:
    """Same generator state, same rotations; and uniform on SO(3): the mean of a Haar rotation is 0,
    and the rotated first axis is uniform on the sphere (each coordinate has variance 1/3)."""
    a = random_rotations(4, torch.Generator().manual_seed(1))
    assert torch.equal(a, random_rotations(4, torch.Generator().manual_seed(1)))
    r = random_rotations(20_000, torch.Generator().manual_seed(2))
    assert r.mean(0).abs().max() < 0.02                          # 5 standard errors: 1/sqrt(3·20000)
    assert (r[:, :, 0].var(0) - 1 / 3).abs().max() < 0.01


def test_complete_graph_joins_every_pair_within_each_system() -> None:
    edges = complete_graph(3, 4)
    assert edges.shape == (2, 3 * 4 * 3) and edges.dtype == torch.long
    pairs = set(map(tuple, edges.T.tolist()))
    assert len(pairs) == edges.shape[1]                           # no edge twice
    assert pairs == {(b * 4 + i, b * 4 + j) for b in range(3) for i in range(4) for j in range(4) if i != j}
    assert torch.equal(edges[0] // 4, edges[1] // 4)              # never between systems
    assert torch.equal(edges[:, :3], torch.tensor([[0, 0, 0], [1, 2, 3]]))   # grouped by source
    assert complete_graph(2, 1).shape == (2, 0)


def test_complete_graph_leaves_out_padding() -> None:
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    edges = complete_graph(2, 4, mask=mask)
    assert set(map(tuple, edges.T.tolist())) == {(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1),
                                                 (4, 5), (5, 4)}
    with pytest.raises(ValueError, match=r"bool tensor of shape \[2, 3\]"):
        complete_graph(2, 3, mask=mask)
    with pytest.raises(ValueError, match="bool tensor"):
        complete_graph(2, 4, mask=mask.long())


def _meshgrid_complete_graph(batch: int, n: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The construction ``complete_graph`` used before ``neighbours``: every ordered pair ``(i, j)``,
    ``i ≠ j``, from a meshgrid, grouped by source, each system offset by ``b · n``."""
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    off = src != dst
    src, dst = src[off], dst[off]
    base = torch.arange(batch)[:, None] * n
    edges = torch.stack([(base + src).flatten(), (base + dst).flatten()])
    return edges if mask is None else edges[:, (mask[:, src] & mask[:, dst]).flatten()]


def test_neighbours_lists_every_other_node_in_order() -> None:
    assert neighbours(4).tolist() == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]
    assert neighbours(2).tolist() == [[1], [0]]
    assert neighbours(1).shape == (1, 0) and neighbours(3).dtype == torch.long
    for n in (2, 5, 7):                              # the rows of complete_graph's first system
        edges = complete_graph(1, n)
        assert torch.equal(edges[1].view(n, n - 1), neighbours(n))
        assert torch.equal(edges[0].view(n, n - 1), torch.arange(n)[:, None].expand(n, n - 1))


@pytest.mark.parametrize("batch,n", [(1, 2), (3, 4), (2, 5), (4, 7), (2, 1), (0, 3)])
def test_complete_graph_is_the_meshgrid_construction(batch: int, n: int) -> None:
    """The same edges in the same order as the meshgrid construction, with and without a mask."""
    assert torch.equal(complete_graph(batch, n), _meshgrid_complete_graph(batch, n))
    mask = torch.rand(batch, n, generator=torch.Generator().manual_seed(batch * 10 + n)) < 0.7
    assert torch.equal(complete_graph(batch, n, mask=mask), _meshgrid_complete_graph(batch, n, mask))
    everyone = torch.ones(batch, n, dtype=torch.bool)
    assert torch.equal(complete_graph(batch, n, mask=everyone), complete_graph(batch, n))


def test_rotate_about_z_turns_x_into_y_and_keeps_z() -> None:
    x = torch.tensor([[1.0, 0.0, 2.0]], dtype=F64)
    assert torch.allclose(rotate_about_z(x, 90), torch.tensor([[0.0, 1.0, 2.0]], dtype=F64), atol=1e-15)
    assert torch.allclose(rotate_about_z(rotate_about_z(x, 30), -30), x, atol=1e-15)
    c = torch.tensor([0.5, -1.0, 0.0], dtype=F64)
    assert torch.allclose(rotate_about_z(c[None], 77, c), c[None], atol=1e-14)   # the centre stays
    turned = rotate_about_z(torch.tensor([[1.0, 0.0, 0.0]], dtype=F64), 45)
    assert torch.allclose(turned, torch.tensor([[math.sqrt(0.5), math.sqrt(0.5), 0.0]], dtype=F64))
    with pytest.raises(ValueError, match=r"\[\.\.\., 3\]"):
        rotate_about_z(torch.zeros(2, 2), 10)
