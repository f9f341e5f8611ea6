"""EGNN on the N-body task, one training step (forward, MSE loss, backward), four ways:

* symlib's :class:`~symlib.layers.egnn.EGNN` on the batched sparse graph (``edge_index``, gathers and
  scatters over the ``n(n-1)`` edges of each system), the graph built from the batch's tensors in
  every step, as training does;
* the same model's dense path, :meth:`~symlib.layers.egnn.EGNN.dense` (*the same weights*): every
  system as ``[B, n, n − 1, ·]`` tensors, ``φ_e``'s first layer applied per node, messages summed
  over an axis instead of scattered (checked to give the same positions);
* egnn-pytorch's ``EGNN`` layers (dense, all ``n²`` pairs) at equal width and depth: ``dim = m_dim =``
  our hidden width, the same number of layers, the same edge attributes and embedding. Its MLPs are
  wider than the EGNN paper's (hidden ``2·(2·dim+3)``, ``2·dim`` and ``4·dim`` where the paper and
  symlib use ``dim``), so it does about 4× the floating-point work;
* egnn-pytorch with its three MLPs swapped for ours (same widths, same FLOPs): the comparison of the
  implementations alone.

Then whole **training steps with the optimizer**, as ``scripts/reproduce.py nbody`` trains, for the
EGNN and for the authors' GNN baseline (``CoordinateGNN(predict="positions")``): the graph path with
``torch.optim.Adam`` as it comes (before issue 18), the dense path with the fused Adam kernel, and
(on a GPU, or with ``--cpu-compile``) the dense path compiled with ``torch.compile``.

The table gives GFLOP per step (``torch.utils.flop_counter``) so a time ratio can be read against the
ratio of work.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmarks.common import Row, clear, compare, flops, rows_from
from symlib.data.nbody import as_graph
from symlib.layers import mlp
from symlib.layers.egnn import EGNN, CoordinateGNN

OURS, DENSE = "symlib EGNN (sparse)", "symlib EGNN.dense (same weights)"
LUCID, MATCHED = "egnn-pytorch EGNN", "egnn-pytorch, MLPs matched to symlib"


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
        sparse = ours(as_graph(pos, vel, charges)).view(batch, n, 3)
        gap = (sparse - ours.dense(pos, vel, charges)).abs().max().item()
    if gap > 1e-4:
        raise AssertionError(f"EGNN.dense disagrees with the graph path by {gap}")

    def step(model, forward):
        def run_step():
            clear(model)
            F.mse_loss(forward(), target).backward()
        return run_step

    candidates = {OURS: step(ours, lambda: ours(as_graph(pos, vel, charges)).view(batch, n, 3)),
                  DENSE: step(ours, lambda: ours.dense(pos, vel, charges))}
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
    """One optimizer step (forward, loss, backward, Adam) of ``make()``: graph path and plain Adam
    (before), dense path and fused Adam, and the latter compiled (if ``compiled``)."""
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
        forward = ((lambda p, v, q: model.dense(p, v, q)) if dense
                   else (lambda p, v, q: model(as_graph(p, v, q)).view(p.shape)))
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
