"""Message passing on graphs, built on torch_geometric's ``MessagePassing``.

A graph's node labels are arbitrary, so a layer must treat every neighbour alike and not depend on
the order in which they are listed. Message passing does this with a permutation-invariant
aggregation over the neighbourhood ``N(v)``:

.. math::  h_v' = \\mathrm{UPDATE}\\big(h_v,\\ \\mathrm{AGG}\\{\\phi(h_u) : u \\in N(v)\\}\\big),
           \\qquad \\mathrm{AGG} \\in \\{\\textstyle\\sum, \\text{mean}, \\max\\}.

:class:`MessagePassingLayer` spells the three parts out as the methods ``message`` (``φ``),
``aggregate`` (``AGG``) and ``update`` (``UPDATE``), which torch_geometric's ``propagate`` calls in
that order.

**Conventions** (torch_geometric's, and :mod:`symlib.layers.sets`'s for batches): node features
``x [N, F]``; ``edge_index [2, E]`` (``LongTensor``) with one column ``(u, v)`` per directed edge,
along which ``u`` sends a message to ``v`` (an undirected graph lists both directions); a batch of
graphs is their disjoint union with ``batch [N]`` naming each node's graph, as built by
``Batch.from_data_list``. A node without neighbours aggregates to zeros (for all three
aggregations, as in torch_geometric).

**Validation at the boundary** (as in :mod:`symlib.layers.sets`): :func:`check_graph` reads the
values of ``edge_index`` and ``batch``, which on a GPU waits for the device. A model checks its
inputs once per call; the layers it owns (:class:`MessagePassingLayer`) have ``validate = False``
and do not check them again, while a layer called on its own (``validate = True``, the default) does.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from symlib.layers import mlp
from symlib.layers.sets import _check_aggr, _pool, _to_padded, check_sets

__all__ = ["GNN", "AdjacencyMLP", "MessagePassingLayer", "check_graph"]


def check_graph(x: Tensor, edge_index: Tensor, batch: Tensor | None = None, *,
                features: int | None = None, who: str = "graph layer") -> int:
    """Check ``(x [N, F], edge_index [2, E], batch [N])``; return the number of graphs.

    Raises:
        ValueError: ``x`` or ``batch`` is malformed (see :func:`symlib.layers.sets.check_sets`),
            ``edge_index`` is not a ``LongTensor [2, E]``, or it names a node outside ``0 … N-1``.
    """
    b = check_sets(x, batch, features=features, who=who)
    if not isinstance(edge_index, Tensor) or edge_index.dtype != torch.long or edge_index.dim() != 2 \
            or edge_index.shape[0] != 2:
        what = f"{edge_index.dtype} tensor of shape {tuple(edge_index.shape)}" \
            if isinstance(edge_index, Tensor) else type(edge_index).__name__
        raise ValueError(f"{who} expects edge_index as a LongTensor [2, E], got {what}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= x.shape[0]):
        raise ValueError(f"{who}: edge_index names nodes {int(edge_index.min())} … {int(edge_index.max())}, "
                         f"but x has {x.shape[0]} nodes")
    return b


class MessagePassingLayer(MessagePassing):
    """``h_v' = ReLU(W [h_v ; AGG_{u ∈ N(v)} φ(h_u)] + b)`` with ``φ(h) = ReLU(W_φ h + b_φ)``.

    Args:
        in_features, out_features: node feature sizes before and after the layer.
        aggr: ``"sum"``, ``"mean"`` or ``"max"``.

    Shapes: ``x [N, in_features]``, ``edge_index [2, E]`` → ``[N, out_features]``.
    Parameters: ``phi`` (the message function, ``in → out``) and ``lin`` (the update,
    ``in + out → out``): the same for every node and every edge, whatever the graph's size.

    Attributes:
        validate: check ``x`` and ``edge_index`` at every call (:func:`check_graph`; the default).
            :class:`GNN` sets it to ``False`` on its layers, having checked its own inputs.
    """

    # check the inputs at every call; an owning model that has checked them sets it to False
    validate: bool = True

    def __init__(self, in_features: int, out_features: int, *, aggr: str = "sum") -> None:
        _check_aggr(aggr)
        super().__init__(aggr=aggr)
        self.in_features, self.out_features = in_features, out_features
        self.phi = nn.Sequential(nn.Linear(in_features, out_features), nn.ReLU())
        self.lin = nn.Linear(in_features + out_features, out_features)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        if self.validate:
            check_graph(x, edge_index, features=self.in_features, who=type(self).__name__)
        return self.propagate(edge_index, x=x)          # message → aggregate → update

    def message(self, x_j: Tensor) -> Tensor:
        """``φ(h_u)`` for every edge ``u → v`` (``x_j = x[edge_index[0]]``): ``[E, out]``."""
        return self.phi(x_j)

    def aggregate(self, inputs: Tensor, index: Tensor, ptr: Tensor | None = None,
                  dim_size: int | None = None) -> Tensor:
        """``AGG`` of the messages arriving at each node (``index = edge_index[1]``): ``[N, out]``."""
        return scatter(inputs, index, dim=0, dim_size=dim_size, reduce=self.aggr)

    def update(self, aggr_out: Tensor, x: Tensor) -> Tensor:
        """``UPDATE(h_v, m_v)``: ``[N, out]``."""
        return torch.relu(self.lin(torch.cat([x, aggr_out], dim=-1)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_features}, {self.out_features}, aggr={self.aggr!r})"


class GNN(nn.Module):
    """A message-passing network: encoder, ``layers`` × :class:`MessagePassingLayer`, readout.

    ``h⁰ = ReLU(W₀ x)``; ``hᵗ⁺¹ = MessagePassingLayer(hᵗ)``; output ``readout(h^L)`` per node
    (``pool=None``: permutation-*equivariant*), or ``readout(pool_{v ∈ G} h_v^L)`` per graph
    (``pool`` in sum, mean, max: permutation-*invariant*). The readout is an MLP with one hidden
    layer.

    Shapes: ``x [N, in_features]``, ``edge_index [2, E]``, ``batch [N]`` (optional: one graph) →
    ``[N, out_features]`` or ``[B, out_features]``.

    The inputs are checked once per call (:func:`check_graph`), by the model: its layers are built
    with ``validate = False``, since the encoder keeps ``N`` and ``edge_index`` is passed unchanged.
    """

    def __init__(self, in_features: int, out_features: int, *, hidden: int = 32, layers: int = 3,
                 aggr: str = "sum", pool: str | None = None) -> None:
        super().__init__()
        if pool is not None:
            _check_aggr(pool, "pooling")
        self.in_features, self.pool = in_features, pool
        self.encoder = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.layers = nn.ModuleList(MessagePassingLayer(hidden, hidden, aggr=aggr) for _ in range(layers))
        for layer in self.layers:
            layer.validate = False                      # forward checks the inputs, once
        self.readout = mlp([hidden, hidden, out_features])

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor | None = None) -> Tensor:
        b = check_graph(x, edge_index, batch, features=self.in_features, who=type(self).__name__)
        h = self.encoder(x)
        for layer in self.layers:
            h = layer(h, edge_index)
        if self.pool is not None:
            h = _pool(h, batch, self.pool, b)
        return self.readout(h)


class AdjacencyMLP(nn.Module):
    """The baseline that ignores the symmetry: an MLP on the flattened adjacency matrix.

    Each graph is laid out as its ``max_nodes × max_nodes`` adjacency matrix and its node features,
    zero-padded, with node ``k`` the graph's ``k``-th node in row order; the MLP maps these
    ``max_nodes · (max_nodes + in_features)`` numbers to ``out_features`` numbers per node slot.
    It needs the labels: relabelling the nodes changes its predictions, not only their order.

    Shapes: ``x [N, in_features]``, ``edge_index [2, E]``, ``batch [N]`` → ``[N, out_features]``.
    """

    def __init__(self, in_features: int, out_features: int, max_nodes: int, *, hidden: int = 256) -> None:
        super().__init__()
        self.in_features, self.out_features, self.max_nodes = in_features, out_features, max_nodes
        self.net = mlp([max_nodes * (max_nodes + in_features), hidden, hidden, max_nodes * out_features])

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor | None = None) -> Tensor:
        b = check_graph(x, edge_index, batch, features=self.in_features, who=type(self).__name__)
        if batch is None:
            batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        feats, position = _to_padded(x, batch, self.max_nodes, b)               # [B, n, F]
        adj = x.new_zeros(b, self.max_nodes, self.max_nodes)
        u, v = edge_index
        adj[batch[u], position[u], position[v]] = 1.0
        out = self.net(torch.cat([adj.flatten(1), feats.flatten(1)], dim=1))      # [B, n · out]
        return out.view(b, self.max_nodes, self.out_features)[batch, position]    # [N, out]
