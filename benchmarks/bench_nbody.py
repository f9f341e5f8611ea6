"""The N-body simulator: all trajectories as one batch (:func:`symlib.data.nbody.simulate`) against a
loop that simulates one trajectory at a time with the same function. Throughput in simulated
particle-system steps per second; one thread, as :func:`symlib.data.nbody.generate` runs it on CPU."""

from __future__ import annotations

import torch

from benchmarks.common import Row, compare, rows_from
from symlib.data.nbody import initial_conditions, simulate

BATCHED, LOOP = "batched (one call)", "per-trajectory loop"


def run(device: torch.device, threads: int, rounds: int, quick: bool = False) -> list[Row]:
    steps = 200 if quick else 500
    batch = 1000 if device.type == "cuda" else 64
    loop = 16                        # the loop simulates the first `loop` systems; rates are per system
    initial = initial_conditions(batch, generator=torch.Generator().manual_seed(0))
    pos, vel, charges = (t.to(device) for t in initial)

    def batched():
        return simulate(pos, vel, charges, steps)

    def looped():
        return [simulate(pos[i:i + 1], vel[i:i + 1], charges[i:i + 1], steps) for i in range(loop)]
    ref = simulate(pos[:loop], vel[:loop], charges[:loop], steps)[0]
    assert torch.allclose(torch.cat([p for p, _ in looped()]), ref, rtol=0, atol=1e-9)
    n_threads = 1 if device.type == "cpu" else threads
    times = compare({BATCHED: batched, LOOP: looped}, device=device, threads=n_threads, rounds=rounds,
                    min_run_time=0.5, warmup=1)
    # time per system: the batched call covers `batch` systems, the loop `loop`
    per_system = {BATCHED: [t / batch for t in times[BATCHED]], LOOP: [t / loop for t in times[LOOP]]}
    rows = rows_from("nbody", f"5 bodies, {steps} steps, float64", per_system, {"vs batched": BATCHED})
    for r in rows:
        systems = batch if r.impl == BATCHED else loop
        r.note = f"{steps / r.seconds:,.0f} system-steps/s ({systems} systems a call)"
    return rows
