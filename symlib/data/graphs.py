"""Random graphs and targets computed on them (offline, seeded, deterministic).

* :func:`erdos_renyi` — the ``G(n, p)`` random graph, with ``p`` set from a target mean degree so
  that graphs of every size look alike locally;
* :func:`hop_distances`, :func:`count_triangles` — exact reference computations (breadth-first
  search; ``trace(A³) / 6``);
* :func:`distance_graphs` — the node-level task of chapter 04: how many hops is each node from a
  marked source node (``0 … max_hops``, or "farther or unreachable")?
* :func:`cycle_graph` — the ``n``-cycle, for hand-made examples.

Graphs are torch_geometric ``Data`` objects; ``edge_index [2, E]`` lists each undirected edge in
both directions, sorted, without self-loops. Nothing is downloaded.

The same bits on every machine: sizes, sources and edges are integer draws and comparisons of
torch's exact uniform numbers with a probability; hop distances are integer arithmetic. Digests in
:mod:`symlib.data.digests`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from symlib.groups import GraphPermutation, Permutation, Trivial
from symlib.symmetry import Symmetry

__all__ = ["count_triangles", "cycle_graph", "distance_graphs", "erdos_renyi", "hop_distances",
           "symmetries"]


def _undirected(u: Tensor, v: Tensor, n: int) -> Tensor:
    """Both directions of the edges ``u[k] – v[k]``, sorted by (source, target)."""
    src, dst = torch.cat([u, v]), torch.cat([v, u])
    order = torch.argsort(src * n + dst)
    return torch.stack([src[order], dst[order]])


def erdos_renyi(n: int, avg_degree: float, generator: torch.Generator | None = None) -> Tensor:
    """``edge_index`` of a ``G(n, p)`` random graph with ``p = min(1, avg_degree / (n - 1))``.

    Each of the ``n(n-1)/2`` possible edges is present independently with probability ``p``, so the
    expected degree is ``avg_degree`` for every ``n``. Node labels carry no meaning: the distribution
    is the same under every relabelling.
    """
    if n < 1:
        raise ValueError(f"a graph needs at least one node, got n={n}")
    if avg_degree < 0:
        raise ValueError(f"avg_degree must be non-negative, got {avg_degree}")
    p = min(1.0, avg_degree / (n - 1)) if n > 1 else 0.0
    u, v = torch.triu_indices(n, n, offset=1)
    keep = torch.rand(u.shape[0], generator=generator) < p
    return _undirected(u[keep], v[keep], n)


def cycle_graph(n: int) -> Tensor:
    """``edge_index`` of the cycle ``0 – 1 – … – (n-1) – 0`` (``n >= 3``)."""
    if n < 3:
        raise ValueError(f"a cycle needs at least 3 nodes, got {n}")
    u = torch.arange(n)
    return _undirected(u, (u + 1) % n, n)


def _adjacency(edge_index: Tensor, num_nodes: int) -> Tensor:
    if edge_index.dtype != torch.long or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"expected edge_index as a LongTensor [2, E], got {edge_index.dtype} "
                         f"{tuple(edge_index.shape)}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index names nodes outside 0 … {num_nodes - 1}")
    adj = torch.zeros(num_nodes, num_nodes, dtype=torch.bool)
    adj[edge_index[0].cpu(), edge_index[1].cpu()] = True
    return adj


def hop_distances(edge_index: Tensor, num_nodes: int, source: int) -> Tensor:
    """Shortest-path lengths (in edges) from ``source`` to every node, ``-1`` if unreachable.

    Breadth-first search, one frontier at a time (edges are followed ``u → v`` as listed).
    """
    if not 0 <= source < num_nodes:
        raise ValueError(f"source must be a node in 0 … {num_nodes - 1}, got {source}")
    adj = _adjacency(edge_index, num_nodes)
    dist = torch.full((num_nodes,), -1, dtype=torch.long)
    frontier = torch.zeros(num_nodes, dtype=torch.bool)
    frontier[source], d = True, 0
    while frontier.any():
        dist[frontier] = d
        frontier = adj[frontier].any(dim=0) & (dist < 0)
        d += 1
    return dist


def count_triangles(edge_index: Tensor, num_nodes: int) -> int:
    """Number of triangles of an undirected graph: ``trace(A³) / 6`` (each triangle is counted
    once per starting node and direction)."""
    a = _adjacency(edge_index, num_nodes).double()
    return int(round(float(torch.trace(a @ a @ a)) / 6))


def distance_graphs(num_graphs: int, sizes: int | tuple[int, int] = (6, 10), *, avg_degree: float = 2.0,
                    max_hops: int = 3, seed: int = 0) -> list:
    """Random graphs with one marked source node; the target of each node is its hop distance.

    Args:
        num_graphs: how many graphs.
        sizes: a number of nodes, or ``(low, high)``: drawn uniformly from ``low … high`` inclusive.
        avg_degree: expected degree of the :func:`erdos_renyi` graphs.
        max_hops: distances ``0 … max_hops`` are their own classes; class ``max_hops + 1`` is
            "farther than ``max_hops``, or unreachable".
        seed: the random stream (sizes, edges, sources); same seed, same graphs.

    Returns:
        a list of ``Data(x=[n, 2], edge_index=[2, E], y=[n] int64)``: ``x`` one-hot encodes
        "is the source" (column 0) / "is not" (column 1); the source is a uniformly random node.
    """
    from torch_geometric.data import Data

    low, high = (sizes, sizes) if isinstance(sizes, int) else sizes
    if not 1 <= low <= high:
        raise ValueError(f"graph sizes must satisfy 1 <= low <= high, got {sizes}")
    if num_graphs < 1 or max_hops < 0:
        raise ValueError(f"need num_graphs >= 1 and max_hops >= 0, got {num_graphs}, {max_hops}")
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    for n in torch.randint(low, high + 1, (num_graphs,), generator=gen).tolist():
        edge_index = erdos_renyi(n, avg_degree, gen)
        source = int(torch.randint(n, (), generator=gen))
        dist = hop_distances(edge_index, n, source)
        y = torch.where((dist < 0) | (dist > max_hops), max_hops + 1, dist)
        x = torch.zeros(n, 2)
        x[:, 1] = 1.0
        x[source] = torch.tensor([1.0, 0.0])
        graphs.append(Data(x=x, edge_index=edge_index, y=y))
    return graphs


def symmetries(n: int, *, invariant: bool = False) -> list[Symmetry]:
    """Relabelling the ``n`` nodes of a torch_geometric graph, as a row for :func:`symlib.audit.audit`:
    node outputs ``[n, d]`` are relabelled alike (equivariance), or, with ``invariant``, a graph-level
    output does not change."""
    return [Symmetry("relabelling", GraphPermutation(n), Trivial() if invariant else Permutation(n))]
