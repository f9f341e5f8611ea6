"""E(n)-equivariant graph neural networks (Satorras, Hoogeboom & Welling 2021).

Each node carries invariant features ``h_i``, a position ``x_i`` and a velocity ``v_i``. Messages
only see *invariant* quantities (features, squared distances, edge attributes); positions are moved
along relative position vectors, which rotate, reflect and translate with the input:

.. math::

    m_{ij} &= φ_e\\bigl(h_i, h_j, \\lVert x_i - x_j \\rVert^2, a_{ij}\\bigr) \\\\
    v_i' &= φ_v(h_i)\\, v_i + \\frac{1}{|N(i)|} \\sum_{j \\in N(i)} (x_i - x_j)\\, φ_x(m_{ij}) \\\\
    x_i' &= x_i + v_i' \\\\
    h_i' &= h_i + φ_h\\Bigl(h_i, \\sum_{j \\in N(i)} m_{ij}\\Bigr)

Rotating or reflecting the input (``x ↦ Rx + t``, ``v ↦ Rv``) leaves every ``m_ij`` and ``h_i``
unchanged and rotates every ``x_i - x_j``, so ``x' ↦ R x' + t``: the layer is E(3)-equivariant for any
weights, and permutation-equivariant because it only sums over neighbours. Two details keep deep
stacks stable, as in the original: the last layer of ``φ_x`` starts with a tiny gain (0.001), and
coordinate updates are *averaged* over neighbours rather than summed.

:class:`LinearDynamics` is the paper's "Linear" baseline of the N-body experiment: no message passing at
all, only the motion equation ``x(t) = x(0) + t · v(0)`` with one learned time ``t``. :class:`RadialField`
is its "Radial Field" baseline: positions moved along relative vectors by a function of distances
alone, with no features carried from layer to layer.

**Layers take graphs, models take tensors.** :class:`EGNNLayer` works on any graph in
torch_geometric's batched form (``forward``), and on complete graphs as dense tensors (``dense``):
no ``edge_index`` and no scatter (each node's ``n − 1`` neighbours sit on their own axis,
:func:`symlib.geometry.neighbours`), and ``φ_e``'s first linear layer applied per node rather than
per edge, ``W [h_i ; h_j ; d_ij ; a_ij] = W_1 h_i + W_2 h_j + w_3 d_ij + W_4 a_ij``, since
``W_1 h_i`` depends on node ``i`` alone. The N-body models (:class:`EGNN`, :class:`CoordinateGNN`,
:class:`LinearDynamics`) only ever see complete graphs of ``n`` particles, so they have one forward,
on tensors: ``model(pos [B, n, 3], vel [B, n, 3], charges [B, n]) → positions [B, n, 3]``, through
the dense layers. ``tests/test_layers_egnn.py`` checks that the EGNN equals its layers' graph path
on torch_geometric's batch of the same systems.

Graphs use torch_geometric's convention: ``edge_index [2, E]`` with messages flowing from
``edge_index[0]`` (``j``) to ``edge_index[1]`` (``i``); several graphs are batched as one disjoint graph.

**Validation at the boundary** (as in :mod:`symlib.layers.sets`): a model checks its inputs once
per call. A graph model that owns :class:`EGNNLayer` s (:class:`~symlib.layers.breaking.AtomScorer`)
builds them with ``validate = False``, so they do not check again, while a layer called on its own
(``validate = True``, the default) does. The models' checks, and the dense layers', read shapes
only: no host synchronisation on a GPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter

from symlib.geometry import neighbours
from symlib.layers import mlp

__all__ = ["CoordinateGNN", "EGNN", "EGNNLayer", "LinearDynamics", "RadialField"]


def _check_graph(h: Tensor, x: Tensor, edge_index: Tensor) -> None:
    if x.dim() != 2 or x.shape[1] != 3:
        raise ValueError(f"coordinates must be [num_nodes, 3], got {tuple(x.shape)}")
    if h.dim() != 2 or h.shape[0] != x.shape[0]:
        raise ValueError(f"features must be [num_nodes={x.shape[0]}, F], got {tuple(h.shape)}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.dtype != torch.long:
        raise ValueError(f"edge_index must be a long tensor [2, E], got {edge_index.dtype} "
                         f"{tuple(edge_index.shape)}")


class EGNNLayer(nn.Module):
    """One E(n)-equivariant message-passing layer with a velocity update (see module docstring).

    Args:
        hidden: width ``F`` of ``h`` and of the messages.
        edge_dim: number of invariant edge attributes ``a_ij`` (e.g. the product of charges).
        update_features: compute ``h'`` (a last layer whose ``h'`` nobody reads skips ``φ_h`` and
            returns ``h`` unchanged, so that it has no unused parameters).

    Shapes: ``h [N, F]``, ``x [N, 3]``, ``v [N, 3]``, ``edge_index [2, E]``, ``edge_attr [E, edge_dim]``
    → ``(h', x', v')`` with the same shapes.

    Attributes:
        validate: check the shapes of ``h``, ``x``, ``v`` and ``edge_index`` at every call of
            :meth:`forward` (the default). A model that owns the layer and has checked its own
            inputs (:class:`~symlib.layers.breaking.AtomScorer`) sets it to ``False``.
            ``edge_attr`` is checked against ``edge_dim`` either way, and :meth:`dense` always checks.
    """

    # check the inputs at every call; an owning model that has checked them sets it to False
    validate: bool = True

    def __init__(self, hidden: int, edge_dim: int = 0, *, update_features: bool = True) -> None:
        super().__init__()
        self.edge_dim = edge_dim
        self.phi_e = mlp([2 * hidden + 1 + edge_dim, hidden, hidden], activation=nn.SiLU,
                         final_activation=True)
        self.phi_x = mlp([hidden, hidden, 1], activation=nn.SiLU)
        self.phi_h = mlp([2 * hidden, hidden, hidden], activation=nn.SiLU) if update_features else None
        self.phi_v = mlp([hidden, hidden, 1], activation=nn.SiLU)
        last = self.phi_x[-1]
        nn.init.xavier_uniform_(last.weight, gain=0.001)  # coordinate updates start tiny: stable
        nn.init.zeros_(last.bias)

    def forward(self, h: Tensor, x: Tensor, v: Tensor, edge_index: Tensor,
                edge_attr: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        if self.validate:
            _check_graph(h, x, edge_index)
            if v.shape != x.shape:
                raise ValueError(f"velocities must have the coordinates' shape {tuple(x.shape)}, "
                                 f"got {tuple(v.shape)}")
        j, i = edge_index
        rel = x[i] - x[j]                                              # [E, 3], equivariant
        inputs = [h[i], h[j], rel.square().sum(-1, keepdim=True)]       # invariant
        if self.edge_dim:
            if edge_attr is None or edge_attr.shape != (edge_index.shape[1], self.edge_dim):
                raise ValueError(f"edge_attr must be [E={edge_index.shape[1]}, {self.edge_dim}], got "
                                 f"{None if edge_attr is None else tuple(edge_attr.shape)}")
            inputs.append(edge_attr)
        m = self.phi_e(torch.cat(inputs, dim=-1))                       # [E, F]
        n = x.shape[0]
        shift = scatter(rel * self.phi_x(m), i, dim=0, dim_size=n, reduce="mean")
        v_new = self.phi_v(h) * v + shift
        x_new = x + v_new
        if self.phi_h is None:
            return h, x_new, v_new
        h_new = h + self.phi_h(torch.cat([h, scatter(m, i, dim=0, dim_size=n, reduce="sum")], dim=-1))
        return h_new, x_new, v_new

    def dense(self, h: Tensor, x: Tensor, v: Tensor, edge_attr: Tensor | None = None
              ) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`forward` on ``B`` complete graphs of ``n`` nodes, as dense tensors.

        Shapes: ``h [B, n, F]``, ``x, v [B, n, 3]``, ``edge_attr [B, n, n − 1, edge_dim]`` (row ``i``
        holds the edges into node ``i`` from the other nodes in increasing order, as
        :func:`neighbours` lists them) → ``(h', x', v')`` with the shapes of ``h, x, v``. Equal to
        :meth:`forward` on the same graphs up to the order of floating-point sums.
        """
        b, n, _ = h.shape
        if x.shape != (b, n, 3) or v.shape != x.shape:
            raise ValueError(f"x and v must be [B={b}, n={n}, 3] for h {list(h.shape)}, "
                             f"got {list(x.shape)} and {list(v.shape)}")
        if n < 2:
            raise ValueError(f"a complete graph needs at least 2 nodes, got {n}")
        others = neighbours(n, x.device)                                # [n, n - 1]
        rel = x[:, :, None] - x[:, others]                              # x_i - x_j, [B, n, n - 1, 3]
        rest = rel.square().sum(-1, keepdim=True)
        if self.edge_dim:
            if edge_attr is None or edge_attr.shape != (b, n, n - 1, self.edge_dim):
                raise ValueError(f"edge_attr must be [B={b}, n={n}, n-1={n - 1}, {self.edge_dim}], got "
                                 f"{None if edge_attr is None else tuple(edge_attr.shape)}")
            rest = torch.cat([rest, edge_attr], dim=-1)
        m = self.phi_e[1:](_edge_layer(self.phi_e[0], h, others, rest))  # [B, n, n - 1, F]
        v_new = self.phi_v(h) * v + (rel * self.phi_x(m)).mean(dim=2)
        x_new = x + v_new
        if self.phi_h is None:
            return h, x_new, v_new
        return h + self.phi_h(torch.cat([h, m.sum(dim=2)], dim=-1)), x_new, v_new


def _edge_layer(first: nn.Linear, h: Tensor, others: Tensor, rest: Tensor) -> Tensor:
    """``first([h_i ; h_j ; r_ij])`` for every edge of ``B`` complete graphs, ``[B, n, n − 1, F_out]``,
    computed as ``W_1 h_i + W_2 h_j + W_3 r_ij + b``: the node terms once per node, not per edge.

    ``h [B, n, F]``, ``others = neighbours(n)``, ``rest [B, n, n − 1, k]`` (the edge's own inputs).
    """
    f = h.shape[-1]
    w_i, w_j, w_rest = first.weight.split([f, f, first.in_features - 2 * f], dim=1)
    return F.linear(h, w_i, first.bias)[:, :, None] + F.linear(h, w_j)[:, others] + F.linear(rest, w_rest)


def _check_systems(pos: Tensor, vel: Tensor, charges: Tensor) -> None:
    if pos.dim() != 3 or pos.shape[-1] != 3 or vel.shape != pos.shape or charges.shape != pos.shape[:2]:
        raise ValueError(f"expected pos, vel [B, n, 3] and charges [B, n], got {list(pos.shape)}, "
                         f"{list(vel.shape)} and {list(charges.shape)}")
    if pos.shape[1] < 2:
        raise ValueError(f"a complete graph needs at least 2 nodes, got {pos.shape[1]}")


class EGNN(nn.Module):
    """The N-body model of the EGNN paper: ``h₀ = ‖v‖``, edges carry ``(q_i q_j, ‖x_i − x_j‖²)``,
    a stack of :class:`EGNNLayer`, and the final positions as the prediction.

    As in the authors' implementation, every layer receives the *input* velocity (``v`` is not
    carried from layer to layer), so each layer adds ``φ_v(h) v`` plus its own correction.

    Input: ``pos, vel [B, n, 3]``, ``charges [B, n]`` (``B`` systems of ``n`` particles, each a
    complete graph). Output: predicted positions ``[B, n, 3]``.
    """

    def __init__(self, hidden: int = 64, layers: int = 4) -> None:
        super().__init__()
        self.embed = nn.Linear(1, hidden)
        self.layers = nn.ModuleList(EGNNLayer(hidden, edge_dim=2, update_features=k < layers - 1)
                                    for k in range(layers))

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
        _check_systems(pos, vel, charges)
        others = neighbours(pos.shape[1], pos.device)                   # j ≠ i, [n, n − 1]
        rel = pos[:, :, None] - pos[:, others]                          # x_i − x_j
        edge_attr = torch.stack([charges[:, :, None] * charges[:, others], rel.square().sum(-1)], dim=-1)
        h, x = self.initial_features(vel), pos
        for layer in self.layers:
            h, x, _ = layer.dense(h, x, vel, edge_attr)
        return x

    def initial_features(self, vel: Tensor) -> Tensor:
        """``h⁰ = W ‖v_i‖ + b``, ``[..., 3] → [..., hidden]``: the speed, invariant to rotations."""
        return self.embed(vel.norm(dim=-1, keepdim=True))


class CoordinateGNN(nn.Module):
    """The EGNN paper's GNN baseline: the same message passing, with the geometry left to learning.

    Nodes start from their raw coordinates and velocities, ``h₀ = W [x_i ; v_i]``, edges carry the
    product of charges, and the network predicts from features alone:

    .. math::  m_{ij} = φ_e(h_i, h_j, q_i q_j),
               \\quad h_i' = h_i + φ_h\\bigl(h_i, \\textstyle\\sum_j m_{ij}\\bigr),
               \\quad \\hat x_i = x_i + W_\\text{out} h_i^{L}
               \\quad\\text{or}\\quad \\hat x_i = ψ(h_i^{L}).

    ``predict="displacement"`` (the book's default, the first) predicts the motion and adds it to the
    input positions; ``predict="positions"`` (the second) is the authors' GNN
    (``n_body_system/model.py``): a two-layer MLP ``ψ`` decodes the final positions themselves, so
    the network must also learn to carry ``x_i`` through.

    It is permutation-equivariant (it sums over neighbours) but not rotation-equivariant: it must
    learn from data that physics looks the same in every orientation. Same input and output as
    :class:`EGNN`.
    """

    def __init__(self, hidden: int = 64, layers: int = 4, *, predict: str = "displacement") -> None:
        super().__init__()
        if predict not in ("displacement", "positions"):
            raise ValueError(f"predict must be 'displacement' or 'positions', got {predict!r}")
        self.predict = predict
        self.embed = nn.Linear(6, hidden)
        self.phi_e = nn.ModuleList(mlp([2 * hidden + 1, hidden, hidden], activation=nn.SiLU,
                                        final_activation=True) for _ in range(layers))
        self.phi_h = nn.ModuleList(mlp([2 * hidden, hidden, hidden], activation=nn.SiLU)
                                   for _ in range(layers))
        self.out = (nn.Linear(hidden, 3) if predict == "displacement"
                    else mlp([hidden, hidden, 3], activation=nn.SiLU))

    def _decode(self, x: Tensor, h: Tensor) -> Tensor:
        return x + self.out(h) if self.predict == "displacement" else self.out(h)

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
        _check_systems(pos, vel, charges)
        others = neighbours(pos.shape[1], pos.device)
        qq = (charges[:, :, None] * charges[:, others])[..., None]      # q_i q_j, [B, n, n − 1, 1]
        h = self.embed(torch.cat([pos, vel], dim=-1))
        for phi_e, phi_h in zip(self.phi_e, self.phi_h):
            m = phi_e[1:](_edge_layer(phi_e[0], h, others, qq))         # m_ij, [B, n, n − 1, F]
            h = h + phi_h(torch.cat([h, m.sum(dim=2)], dim=-1))
        return self._decode(pos, h)


class RadialField(nn.Module):
    """The "Radial Field" baseline of the EGNN paper's Table 2 (Köhler, Klein & Noé 2019), as the EGNN
    authors implement it (``RF_vel`` and ``GCL_rf_vel``): each of ``layers`` layers moves every
    particle along its relative vectors to the others, by a learned function of invariants only, and
    then along its input velocity:

    .. math::

        x_i &\\leftarrow x_i + \\frac{1}{n - 1} \\sum_{j \\ne i} (x_i - x_j)\\,
              φ\\bigl(\\lVert x_i - x_j \\rVert,\\ q_i q_j,\\ \\lVert x_i^0 - x_j^0 \\rVert^2\\bigr) \\\\
        x_i &\\leftarrow x_i + ψ(\\lVert v_i \\rVert)\\, v_i

    with ``φ = tanh ∘ Linear(F, 1, no bias; Xavier gain 0.001) ∘ SiLU ∘ Linear(3, F)`` (the current
    distance, and the edge attributes of the input: the product of charges and the squared input
    distance) and ``ψ = Linear(F, 1) ∘ SiLU ∘ Linear(1, F)``, each layer its own. There are no node
    features: everything the field sees is a distance or a charge, so it is E(3)- and
    permutation-equivariant for any weights, like :class:`EGNN`, but far smaller.

    Input and output as :class:`EGNN`.
    """

    def __init__(self, hidden: int = 64, layers: int = 4) -> None:
        super().__init__()
        self.phi = nn.ModuleList()
        for _ in range(layers):
            last = nn.Linear(hidden, 1, bias=False)
            nn.init.xavier_uniform_(last.weight, gain=0.001)
            self.phi.append(nn.Sequential(nn.Linear(3, hidden), nn.SiLU(), last, nn.Tanh()))
        self.psi = nn.ModuleList(mlp([1, hidden, 1], activation=nn.SiLU) for _ in range(layers))

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
        _check_systems(pos, vel, charges)
        others = neighbours(pos.shape[1], pos.device)                   # j ≠ i, [n, n − 1]
        start = (pos[:, :, None] - pos[:, others]).square().sum(-1)      # ‖x_i⁰ − x_j⁰‖²
        attr = torch.stack([charges[:, :, None] * charges[:, others], start], dim=-1)   # [B, n, n − 1, 2]
        speed = vel.norm(dim=-1, keepdim=True)
        x = pos
        for phi, psi in zip(self.phi, self.psi):
            rel = x[:, :, None] - x[:, others]                          # x_i − x_j, [B, n, n − 1, 3]
            radial = rel.norm(dim=-1, keepdim=True)
            x = x + (rel * phi(torch.cat([radial, attr], dim=-1))).mean(dim=2)
            x = x + psi(speed) * vel
        return x


class LinearDynamics(nn.Module):
    """The EGNN paper's "Linear" baseline: every particle flies on in a straight line for a learned time.

    .. math::  \\hat x_i = x_i + t\\, v_i

    with one learned scalar ``t``, initialised to ``0.7`` as in the authors' ``Linear_dynamics``
    (``n_body_system/model.py``; the paper describes the baseline as the motion equation
    ``p(t) = p(0) + v(0) t``). A rigid motion ``x ↦ R x + τ``, ``v ↦ R v`` gives
    ``R x + τ + t R v = R (x + t v) + τ``, so the model is E(3)-equivariant for every ``t``, and it
    treats every particle alike (permutation-equivariant); it cannot see the other particles.

    Input and output as :class:`EGNN` (``charges`` are checked, and not used).
    """

    def __init__(self, time: float = 0.7) -> None:
        super().__init__()
        self.time = nn.Parameter(torch.tensor([float(time)]))

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
        _check_systems(pos, vel, charges)
        return pos + self.time * vel
