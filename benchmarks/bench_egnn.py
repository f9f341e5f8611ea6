"""EGNN on the N-body task, one training step (forward, MSE loss, backward), four ways:

* symlib's :class:`~symlib.layers.egnn.EGNN` run through its layers' graph form,
  :meth:`EGNNLayer.forward <symlib.layers.egnn.EGNNLayer.forward>` (:func:`egnn_on_graph`, local to
  this benchmark): the batched sparse graph, gathers and scatters over the ``n(n-1)`` edges of each
  system, the graph built from the batch's tensors in every step, as training on graphs would;
* the same model's own forward, ``model(pos, vel, charges)`` (*the same weights*), which is the
  dense one: every system as ``[B, n, n − 1, ·]`` tensors, ``φ_e``'s first layer applied per node,
  messages summed over an axis instead of scattered (checked to give the same positions);
* egnn-pytorch's ``EGNN`` layers (dense, all ``n²`` pairs) at equal width and depth: ``dim = m_dim =``
  our hidden width, the same number of layers, the same edge attributes and embedding. Its MLPs are
  wider than the EGNN paper's (hidden ``2·(2·dim+3)``, ``2·dim`` and ``4·dim`` where the paper and
  symlib use ``dim``), so it does about 4× the floating-point work;
* egnn-pytorch with its three MLPs swapped for ours (same widths, same FLOPs): the comparison of the
  implementations alone.

Then whole **training steps with the optimizer**, as ``scripts/reproduce.py nbody`` trains, for the
EGNN and for the authors' GNN baseline (``CoordinateGNN(predict="positions")``): the graph path
(:func:`egnn_on_graph`, :func:`gnn_on_graph`: how the models ran before issue 18) with
``torch.optim.Adam`` as it comes, the model's own (dense) forward with the fused Adam kernel, and
(on a GPU, or with ``--cpu-compile``) the latter compiled with ``torch.compile``.

The table gives GFLOP per step (``torch.utils.flop_counter``) so a time ratio can be read against the
ratio of work.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter

from benchmarks.common import Row, clear, compare, flops, rows_from
from symlib.geometry import complete_graph
from symlib.layers import mlp
from symlib.layers.egnn import EGNN, CoordinateGNN

OURS, DENSE = "symlib EGNN, graph layers (sparse)", "symlib EGNN forward (dense, same weights)"
LUCID, MATCHED = "egnn-pytorch EGNN", "egnn-pytorch, MLPs matched to symlib"


def _graph(pos: Tensor, vel: Tensor, charges: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``B`` systems ``[B, n, ·]`` as one disjoint graph of ``B·n`` nodes: ``pos, vel [B·n, 3]``,
    ``charges [B·n, 1]`` and ``edge_index`` (:func:`~symlib.geometry.complete_graph`, built anew)."""
    b, n = pos.shape[:2]
    return (pos.reshape(-1, 3), vel.reshape(-1, 3), charges.reshape(-1, 1),
            complete_graph(b, n, device=pos.device))


def egnn_on_graph(model: EGNN, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
    """The EGNN's own layers in their graph form, :meth:`~symlib.layers.egnn.EGNNLayer.forward`
    (gathers and scatters over ``edge_index``), on the systems' complete graphs, built in every call:
    predicted positions ``[B, n, 3]``. The model's own forward, ``model(pos, vel, charges)``, is the
    dense path; the two agree up to rounding (``tests/test_layers_egnn.py``)."""
    x, v, q, edge_index = _graph(pos, vel, charges)
    j, i = edge_index
    edge_attr = torch.cat([q[i] * q[j], (x[i] - x[j]).square().sum(-1, keepdim=True)], dim=-1)
    h = model.embed(v.norm(dim=-1, keepdim=True))
    for layer in model.layers:
        h, x, _ = layer(h, x, v, edge_index, edge_attr)
    return x.view(pos.shape)


def gnn_on_graph(model: CoordinateGNN, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
    """:class:`~symlib.layers.egnn.CoordinateGNN`'s weights on the systems' complete graphs, messages
    gathered over ``edge_index`` and scattered to their targets (its forward before issue 29):
    predicted positions ``[B, n, 3]``."""
    x, v, q, edge_index = _graph(pos, vel, charges)
    j, i = edge_index
    h = model.embed(torch.cat([x, v], dim=-1))
    for phi_e, phi_h in zip(model.phi_e, model.phi_h):
        m = phi_e(torch.cat([h[i], h[j], q[i] * q[j]], dim=-1))
        h = h + phi_h(torch.cat([h, scatter(m, i, dim=0, dim_size=x.shape[0], reduce="sum")], dim=-1))
    return model._decode(x, h).view(pos.shape)


def on_graph(model: nn.Module, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
    """:func:`egnn_on_graph` or :func:`gnn_on_graph`, as ``model`` is."""
    return (egnn_on_graph if isinstance(model, EGNN) else gnn_on_graph)(model, pos, vel, charges)


class LucidEGNN(nn.Module):
    """egnn-pytorch's layers in the N-body model: ``h₀ = W‖v‖``, edges ``(q_i q_j, ‖x_i − x_j‖²)``."""

    def __init__(self, egnn_layer: type, hidden: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Linear(1, hidden)
        self.layers = nn.ModuleList(egnn_layer(dim=hidden, edge_dim=2, m_dim=hidden) for _ in range(layers))

    def forward(self, pos: Tensor, vel: Tensor, charges: Tensor) -> Tensor:
        rel = pos[:, :, None] - pos[:, None, :]
        edges = torch.cat([(charges[:, :, None] * charges[:, None, :])[..., None],
                           rel.square().sum(-1, keepdim=True)], dim=-1)
        h, x = self.embed(vel.norm(dim=-1, keepdim=True)), pos
        for layer in self.layers:
            h, x = layer(h, x, edges)
        return x


def matched(model: LucidEGNN, hidden: int) -> LucidEGNN:
    """``model`` with each layer's MLPs replaced by symlib's widths (φ_e, φ_x, φ_h)."""
    model = copy.deepcopy(model)
    for layer in model.layers:
        layer.edge_mlp = mlp([2 * hidden + 1 + 2, hidden, hidden], activation=nn.SiLU, final_activation=True)
        layer.coors_mlp = mlp([hidden, hidden, 1], activation=nn.SiLU)
        layer.node_mlp = mlp([2 * hidden, hidden, hidden], activation=nn.SiLU)
    return model


def _case(lucid_layer: type | None, why: str, device: torch.device, threads: int, rounds: int,
          batch: int, n: int, hidden: int = 64, depth: int = 4) -> list[Row]:
    torch.manual_seed(0)
    pos, vel = torch.randn(batch, n, 3, device=device), torch.randn(batch, n, 3, device=device)
    charges = (torch.randint(0, 2, (batch, n), device=device) * 2 - 1).float()
    target = torch.randn(batch, n, 3, device=device)
    ours = EGNN(hidden, depth).to(device)
    with torch.no_grad():
        gap = (egnn_on_graph(ours, pos, vel, charges) - ours(pos, vel, charges)).abs().max().item()
    if gap > 1e-4:
        raise AssertionError(f"the EGNN's forward disagrees with its layers' graph path by {gap}")

    def step(model, forward):
        def run_step():
            clear(model)
            F.mse_loss(forward(), target).backward()
        return run_step

    candidates = {OURS: step(ours, lambda: egnn_on_graph(ours, pos, vel, charges)),
                  DENSE: step(ours, lambda: ours(pos, vel, charges))}
    models = {OURS: ours, DENSE: ours}
    missing = {}
    if lucid_layer is None:
        missing = {LUCID: why, MATCHED: why}
    else:
        lucid = LucidEGNN(lucid_layer, hidden, depth).to(device)
        models[LUCID], models[MATCHED] = lucid, matched(lucid, hidden).to(device)
        for name in (LUCID, MATCHED):
            candidates[name] = step(models[name], lambda m=models[name]: m(pos, vel, charges))
    work = {name: flops(fn) for name, fn in candidates.items()}
    times = compare(candidates, device=device, threads=threads, rounds=rounds)
    case = f"{batch} systems × {n} bodies, {depth} layers × {hidden}"
    rows = rows_from("egnn", case, times, {"vs symlib": OURS, "vs egnn-pytorch": LUCID}, missing)
    for r in rows:
        if r.impl in work:
            count = sum(p.numel() for p in models[r.impl].parameters())
            r.note = f"{work[r.impl] / 1e9:.2f} GFLOP, {count:,} params"
    return rows


def _training_steps(name: str, make, device: torch.device, threads: int, rounds: int, compiled: bool,
                    batch: int = 100, n: int = 5) -> list[Row]:
    """One optimizer step (forward, loss, backward, Adam) of ``make()``: graph path (:func:`on_graph`)
    and plain Adam (before), the model's own dense forward and fused Adam, and the latter compiled (if
    ``compiled``)."""
    torch.manual_seed(0)
    pos, vel = torch.randn(batch, n, 3, device=device), torch.randn(batch, n, 3, device=device)
    charges = (torch.randint(0, 2, (batch, n), device=device) * 2 - 1).float()
    target = torch.randn(batch, n, 3, device=device)
    before, after = f"{name}: graph path, Adam (before)", f"{name}: dense path, fused Adam"
    ways = {before: (False, False, False), after: (True, True, False)}
    if compiled:
        ways[f"{after}, compiled"] = (True, True, True)

    def step(dense: bool, fused: bool, compile: bool):
        torch.manual_seed(0)
        model = make().to(device)
        forward = model if dense else (lambda p, v, q: on_graph(model, p, v, q))
        forward = torch.compile(forward) if compile else forward
        opt = torch.optim.Adam(model.parameters(), lr=5e-4, **({"fused": True} if fused else {}))

        def run_step():
            opt.zero_grad(set_to_none=True)
            F.mse_loss(forward(pos, vel, charges), target).backward()
            opt.step()
        return run_step

    candidates = {label: step(*way) for label, way in ways.items()}
    times = compare(candidates, device=device, threads=threads, rounds=rounds)
    case = f"training step, {batch} systems × {n} bodies, 4 layers × 64"
    return rows_from("egnn", case, times, {"vs before": before})


def run(device: torch.device, threads: int, rounds: int, quick: bool = False,
        cpu_compile: bool = False) -> list[Row]:
    try:
        from egnn_pytorch import EGNN as lucid_layer
        why = ""
    except ImportError as e:
        lucid_layer, why = None, f"not installed ({type(e).__name__})"
    sizes = [(100, 5), (25, 20)]       # the EGNN paper's batch of 5-body systems; bigger systems
    rows = [row for batch, n in sizes[: 1 if quick else None]
            for row in _case(lucid_layer, why, device, threads, rounds, batch, n)]
    compiled = device.type == "cuda" or cpu_compile
    for name, make in (("EGNN", lambda: EGNN(64, 4)),
                       ("GNN", lambda: CoordinateGNN(64, 4, predict="positions"))):
        rows += _training_steps(name, make, device, threads, rounds, compiled)
    return rows
