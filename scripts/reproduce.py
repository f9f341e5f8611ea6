"""Reproduce a published experiment at the paper's own settings, on this machine's CPU, and record it.

    python scripts/reproduce.py mnist1d                 # make reproduce: every experiment below
    python scripts/reproduce.py mnist1d --seeds 0 1 2 --jobs 2

Writes ``results/<experiment>.json``: every run's number, mean ± standard error over the seeds
(``symlib.stats``), the paper's value, the settings, and provenance (git commit, date, wall time, CPU,
library versions). The book renders these files; it never retypes them.

**mnist1d** — Greydanus (2020), *Scaling down deep learning*: the MLP and the CNN of the MNIST-1D
repository (``symlib.layers.mnist1d``) on the real signals and on signals whose 40 positions are
shuffled by one fixed permutation, with the repository's settings: the 4,000 / 1,000 split of the
published dataset, Adam (``AdamW`` without weight decay), learning rate ``1e-2``, batches of 100,
8,000 steps, test accuracy after the last step, float32.

Runs are independent processes, ``--jobs`` at a time (one per core), each single-threaded and
checkpointed every 1,000 steps under ``checkpoints/reproduce/``: run the same command again after an
interruption and every run resumes where it stopped, bitwise identical (``symlib.train.fit``).
``--steps`` shortens the runs for a smoke test; the result then records its steps and is no
reproduction.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The paper's test accuracies (Greydanus 2020, MNIST-1D baselines), by (model, signals).
MNIST1D_PAPER = {("MLP", "real"): 0.68, ("CNN", "real"): 0.94,
                 ("MLP", "shuffled"): 0.68, ("CNN", "shuffled"): 0.56}
MNIST1D_SETTINGS = {"steps": 8_000, "batch_size": 100, "lr": 1e-2,
                    "optimizer": "Adam (AdamW, weight decay 0)", "train": 4_000, "test": 1_000,
                    "dataset_seed": 42, "permutation_seed": 0,
                    "dtype": "float32", "reported": "test accuracy after the last step"}


def mnist1d_run(model: str, signals: str, seed: int, steps: int, checkpoints: str | None) -> dict:
    """Train one MNIST-1D baseline on one seed; return its test accuracy and wall time."""
    import torch
    import torch.nn.functional as F

    from symlib.data.mnist1d import load, permute_positions, position_permutation
    from symlib.layers import mnist1d
    from symlib.train import train

    torch.set_num_threads(1)
    train_set, test_set = load()
    if signals == "shuffled":
        perm = position_permutation(seed=MNIST1D_SETTINGS["permutation_seed"])
        train_set, test_set = permute_positions(train_set, perm), permute_positions(test_set, perm)
    make = {"MLP": mnist1d.mlp, "CNN": mnist1d.cnn}[model]
    checkpoint = None if checkpoints is None else Path(checkpoints) / f"mnist1d-{model}-{signals}-{seed}.pt"
    start = time.perf_counter()
    net, _ = train(make, lambda m, b: F.cross_entropy(m(b[0]), b[1]), train_set, seed=seed, steps=steps,
                   batch_size=MNIST1D_SETTINGS["batch_size"], lr=MNIST1D_SETTINGS["lr"], device="cpu",
                   amp=False, checkpoint=checkpoint, checkpoint_every=1_000, progress=False)
    x, y = test_set.tensors
    with torch.no_grad():
        accuracy = float((net.eval()(x).argmax(dim=1) == y).double().mean())
    return {"model": model, "signals": signals, "seed": seed, "test_accuracy": accuracy,
            "seconds": time.perf_counter() - start}


def provenance(wall: float, jobs: int) -> dict:
    """Where and how the numbers were made."""
    import numpy as np
    import torch

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--", "symlib", "scripts")),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(wall, 1), "jobs": jobs, "threads_per_run": 1, "device": "cpu", "cpu": cpu,
            "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__}


def reproduce_mnist1d(seeds: list[int], jobs: int, steps: int | None, out: Path,
                      checkpoints: str | None) -> Path:
    """Every (model, signals) pair on every seed (``steps=None``: the paper's); write
    ``out/mnist1d.json``; return its path."""
    from tqdm.auto import tqdm

    steps = steps or MNIST1D_SETTINGS["steps"]
    from symlib.stats import estimate

    tasks = [(m, s, seed, steps, checkpoints) for (m, s) in MNIST1D_PAPER for seed in seeds]
    start, runs = time.perf_counter(), []
    if jobs == 1:
        runs = [mnist1d_run(*t) for t in tqdm(tasks, desc="mnist1d", disable=None)]
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = [pool.submit(mnist1d_run, *t) for t in tasks]
            for f in tqdm(concurrent.futures.as_completed(futures), total=len(futures), desc="mnist1d",
                          disable=None):
                runs.append(f.result())
    wall = time.perf_counter() - start
    rows = {}
    for (model, signals), paper in MNIST1D_PAPER.items():
        mine = sorted((r for r in runs if (r["model"], r["signals"]) == (model, signals)),
                      key=lambda r: r["seed"])
        e = estimate(r["test_accuracy"] for r in mine)
        rows[f"{model}, {signals} signals"] = {
            "model": model, "signals": signals, "paper": paper, "mean": e.mean, "se": e.se,
            "per_seed": {str(r["seed"]): r["test_accuracy"] for r in mine},
            "seconds_per_run": round(sum(r["seconds"] for r in mine) / len(mine), 1)}
    result = {"experiment": "mnist1d",
              "paper": "Greydanus (2020), Scaling down deep learning (the MNIST-1D baselines)",
              "metric": "test accuracy", "seeds": seeds,
              "settings": {**MNIST1D_SETTINGS, "steps": steps,
                           "reproduction": steps == MNIST1D_SETTINGS["steps"]},
              "rows": rows, "provenance": provenance(wall, jobs)}
    out.mkdir(parents=True, exist_ok=True)
    path = out / "mnist1d.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


EXPERIMENTS = {"mnist1d": reproduce_mnist1d}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiments", nargs="+", choices=[*EXPERIMENTS, "all"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="runs side by side")
    parser.add_argument("--steps", type=int, default=None, help="shorter runs, for a smoke test only")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--no-checkpoints", action="store_true", help="do not save or resume runs")
    args = parser.parse_args(argv)
    if len(args.seeds) < 3:
        parser.error("a reproduction needs at least 3 seeds (mean ± standard error)")
    names = list(EXPERIMENTS) if "all" in args.experiments else args.experiments
    checkpoints = None if args.no_checkpoints else str(ROOT / "checkpoints" / "reproduce")
    for name in names:
        path = EXPERIMENTS[name](args.seeds, args.jobs, args.steps, args.out, checkpoints)
        rows = json.loads(path.read_text())["rows"]
        print(f"{name}: wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        for label, row in rows.items():
            print(f"  {label:<22} {row['mean']:.1%} ± {row['se']:.1%}   paper {row['paper']:.0%}")


if __name__ == "__main__":
    main()
