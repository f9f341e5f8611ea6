"""K seeds as one batched model (:func:`symlib.seeds.train_seeds`) against the same K seeds trained
one after another (:func:`symlib.train.train`), for the models the chapters train at ``ci`` scale.

Each call trains ``K = 8`` seeds for a few steps (AdamW, the chapters' batch sizes) from the start:
the models are built, stacked and trained, so the row is the whole cost of an experiment per step.
The ratio ``sequential / batched`` is the throughput gained (issue 30's target: ≥ 3× at K = 8).
Chapter 04's set models train one seed at a time (batched through a padded wrapper they were slower
per seed), and chapter 08's molecule models cannot be traced by ``vmap``, so neither has a row.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from benchmarks.common import Row, compare, rows_from
from symlib.data import nbody
from symlib.layers.conv import RingCNN
from symlib.layers.egnn import EGNN, CoordinateGNN
from symlib.layers.gconv import GCNN
from symlib.layers.mnist1d import cnn, residual_mlp
from symlib.seeds import train_seeds
from symlib.train import train

K = 8
SEQUENTIAL, BATCHED = f"{K} seeds, one after another", f"{K} seeds, one batched model"


def _classify(model, batch):
    return F.cross_entropy(model(batch[0]), batch[1])


def _regress(model, batch):
    return F.mse_loss(model(batch[0]), batch[1])


def _problems(device: torch.device) -> dict[str, tuple]:
    """case -> (make, loss, data, batch size): the chapters' ci-scale models and batch sizes."""
    g = torch.Generator().manual_seed(0)
    signals = TensorDataset(torch.rand(1000, 40, generator=g), torch.randint(10, (1000,), generator=g))
    digits = TensorDataset(torch.rand(500, 1, 8, 8, generator=g), torch.randint(10, (500,), generator=g))
    configurations = torch.randint(2, (500, 16), generator=g).float() * 2 - 1
    spins = TensorDataset(configurations, torch.rand(500, generator=g))
    systems = nbody.generate(500, seed=1, cache=True).dataset(device)
    return {
        "03 MNIST-1D CNN": (cnn, _classify, signals, 100),
        "03 MNIST-1D MLP": (residual_mlp, _classify, signals, 100),
        "05 EGNN (64 × 4)": (lambda: EGNN(64, 4), nbody.loss, systems, 50),
        "05 GNN (64 × 4)": (lambda: CoordinateGNN(64, 4), nbody.loss, systems, 50),
        "07 CNN (16, 32, 32)": (lambda: GCNN(1, 10, [16, 32, 32], group="z2", pool_after=[1]), _classify,
                                digits, 32),
        "07 p4-CNN (8, 16, 16)": (lambda: GCNN(1, 10, [8, 16, 16], group="p4", pool_after=[1]), _classify,
                                  digits, 32),
        "09 EGNN (16 × 2)": (lambda: EGNN(16, 2), nbody.loss, systems, 50),
        "11 ring CNN": (lambda: RingCNN(16), _regress, spins, 50),
        "11 MLP": (lambda: nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 1), nn.Flatten(0)),
                   _regress, spins, 50),
    }


def run(device: torch.device, threads: int, rounds: int, quick: bool = False) -> list[Row]:
    steps = 5 if quick else 20
    rows = []
    for case, (make, loss, data, batch) in _problems(device).items():
        data = TensorDataset(*[t.to(device) for t in data.tensors])
        settings = dict(steps=steps, batch_size=batch, device=device, progress=False)

        def sequential(make=make, loss=loss, data=data, settings=settings):
            for seed in range(K):
                train(make, loss, data, seed=seed, amp=False, **settings)

        def batched(make=make, loss=loss, data=data, settings=settings):
            train_seeds(make, loss, data, range(K), **settings)

        times = compare({SEQUENTIAL: sequential, BATCHED: batched}, device=device, threads=threads,
                        rounds=rounds, min_run_time=0.5, warmup=1)
        times = {name: [t / steps for t in ts] for name, ts in times.items()}        # per step
        rows += rows_from("seeds", f"{case}, {steps} steps", times, {"sequential / batched": BATCHED})
    return rows
