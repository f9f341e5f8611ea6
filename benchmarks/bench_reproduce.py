"""The N-body reproduction's training step (``scripts/reproduce.py nbody``): can batching seeds make
three seeds cost less than three runs?

For Table 2's EGNN and GNN at the paper's sizes (4 layers × 64, batches of 100 five-body systems),
the steady-state step, with the optimizer, two ways:

* **1 seed**, as ``reproduce.py`` trains it: the model compiled (``torch.compile``), the fused Adam;
* **3 seeds, one batched model**: the step of :func:`symlib.seeds.train_seeds` with ``compile=True``
  (the stacked models' losses through one compiled ``vmap``, each seed on its own batch, as each
  seed has its own data order; one fused Adam over the stacked parameters), its time divided by 3:
  the time *per seed-step*.

The ratio ``1 seed / batched`` is the throughput that batching gains per seed (issue 32's target:
three seeds at the full schedule in ≤ 1.5× one seed's wall time, so ≥ 2×). Beside them, the rate at
which this core multiplies matrices (a 1024³ float32 ``matmul``), and the rate each step achieves
(``torch.utils.flop_counter``'s FLOPs per step / its time): a step that already runs at a large
fraction of the core's matmul rate cannot be made much faster by batching, which only removes the
time between kernels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap

from benchmarks.common import Row, compare, flops, rows_from
from symlib.data import nbody
from symlib.layers.egnn import EGNN, CoordinateGNN

K = 3
ONE, BATCHED, GEMM = "1 seed, compiled (as reproduce.py)", f"{K} seeds, one batched model, compiled", \
    "matmul 1024³ (the core's rate)"
MODELS = {"EGNN": lambda: EGNN(64, 4), "GNN": lambda: CoordinateGNN(64, 4, predict="positions")}


def _adam(params) -> torch.optim.Optimizer:
    try:
        return torch.optim.Adam(params, lr=5e-4, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=5e-4)


def _one_seed(make, batch):
    model = make().to(batch[0].device)
    net, opt = torch.compile(model), _adam(model.parameters())

    def step():
        loss = F.mse_loss(net(*batch[:3]), batch[3])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def _batched(make, batches):
    models = []
    for seed in range(K):
        torch.manual_seed(seed)
        models.append(make().to(batches[0].device))
    params, buffers = stack_module_state(models)
    skeleton, opt = models[0], _adam(params.values())

    def one(p, b, *t):
        return F.mse_loss(functional_call(skeleton, (p, b), t[:3]), t[3])
    losses = torch.compile(vmap(one))

    def step():
        loss = losses(params, buffers, *batches).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def run(device: torch.device, threads: int, rounds: int, quick: bool = False) -> list[Row]:
    systems = nbody.generate(K * 100, seed=1, cache=True).dataset().tensors
    batches = [t.to(device).reshape(K, 100, *t.shape[1:]) for t in systems]    # [K, 100, ...]: one per seed
    batch = [t[0] for t in batches]
    a = torch.randn(1024, 1024, device=device)
    gemm = {GEMM: lambda: a @ a}
    gemm_rate = 2 * 1024 ** 3
    times = compare(gemm, device=device, threads=threads, rounds=rounds, min_run_time=0.3)
    rows = rows_from("reproduce", "matmul", times, {})
    rows[0].note = f"{gemm_rate / min(times[GEMM]) / 1e9:.0f} GFLOP/s"
    for name, make in MODELS.items():
        one, batched = _one_seed(make, batch), _batched(make, batches)
        work = flops(one)                                   # per seed-step: the same in both
        times = compare({ONE: one, BATCHED: batched}, device=device, threads=threads, rounds=rounds,
                        min_run_time=0.5, warmup=3)
        times[BATCHED] = [t / K for t in times[BATCHED]]    # per seed-step
        case = f"N-body {name} (64 × 4), 100 systems, per seed-step"
        case_rows = rows_from("reproduce", case, times, {"1 seed / batched": BATCHED})
        for row in case_rows:
            row.note = f"{work / 1e9:.2f} GFLOP, {work / row.seconds / 1e9:.0f} GFLOP/s"
        rows += case_rows
    return rows
