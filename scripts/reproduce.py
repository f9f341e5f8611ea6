"""Reproduce a published experiment at the paper's own settings, on this machine's CPU, and record it.

    python scripts/reproduce.py all                     # make reproduce: every experiment below
    python scripts/reproduce.py mnist1d --seeds 0 1 2 --jobs 2
    python scripts/reproduce.py mnist1d --protocol notebook      # the authors' notebook's protocol
    python scripts/reproduce.py nbody --models EGNN --seeds 0

Writes ``results/<experiment>.json``: every run's number, mean ± standard error over the seeds
(``symlib.stats``), the paper's value, the settings, and provenance (git commit, date, wall time, CPU,
library versions). The book renders these files; it never retypes them.

**mnist1d** — Greydanus (2020), *Scaling down deep learning*: the MLP and the CNN of the MNIST-1D
repository (``symlib.layers.mnist1d``) on the real signals and on signals whose 40 positions are
shuffled by one fixed permutation, with the repository's settings: the 4,000 / 1,000 split of the
published dataset, Adam (``AdamW`` without weight decay), learning rate ``1e-2``, batches of 100,
test accuracy after the last step, float32. Three protocols (``--protocol``, one file each): this
book's (8,000 steps, batches shuffled every epoch, positions shuffled by ``torch.randperm`` with seed
0; ``results/mnist1d.json``); the repository's ``notebooks/train.py`` defaults (its loop runs 8,001
steps over batches taken in order, ``x[bix:bix + 100]``; ``results/mnist1d-repository.json``); and
the authors' ``mnist1d-classification.ipynb`` (the same loop with ``total_steps = 6000``, 6,001
steps; ``results/mnist1d-notebook.json``). The last two shuffle the positions as that notebook does,
``np.random.seed(42); np.random.permutation(40)`` (an integer algorithm: the same on every machine).

Runs are independent processes, ``--jobs`` at a time (one per core), each single-threaded and
checkpointed every 1,000 steps under ``checkpoints/reproduce/``: run the same command again after an
interruption and every run resumes where it stopped, bitwise identical (``symlib.train.fit``).
``--steps`` shortens the runs for a smoke test; the result then records its steps and is no
reproduction.

**nbody** — Satorras, Hoogeboom & Welling (2021), *E(n) equivariant graph neural networks*, Table 2:
the charged-particle N-body task (:mod:`symlib.data.nbody`: 3,000 / 2,000 / 2,000 systems, predict
the positions 1,000 simulator steps ahead) with the settings of the authors' ``main_nbody.py``:
4 layers × 64, Adam with learning rate ``5e-4`` (``1e-3`` for the GNN, as the authors' README
runs it) and L2 weight decay ``1e-12``, batches of 100,
10,000 epochs (300,000 steps), the validation and test MSE after every fifth epoch, and the test MSE
at the lowest validation MSE reported. Models: :class:`~symlib.layers.egnn.EGNN`, the authors' GNN
(:class:`~symlib.layers.egnn.CoordinateGNN` with ``predict="positions"``), their Radial Field
(:class:`~symlib.layers.egnn.RadialField`, learning rate ``2e-4`` as their README runs it) and their
Linear (:class:`~symlib.layers.egnn.LinearDynamics`), each called as ``model(pos, vel, charges)`` (their one
forward: each system a complete graph as dense tensors, equal to the EGNN layers' graph path and
measured faster in ``benchmarks/bench_egnn.py``), compiled with ``torch.compile`` unless
``--no-compile``. A model takes hours per seed on one core, so ``--models``
and ``--seeds`` run some of them: at the same settings, their runs join ``results/nbody.json`` (a seed
run again replaces its old run; other models and seeds are kept), each seed with its own provenance.
``--data authors`` trains and tests on the authors' own initial conditions and frames instead of this
book's draw (:func:`symlib.data.nbody.load_authors`) and writes ``results/nbody-authors.json``;
``--epochs`` trains fewer epochs than the paper's, a diagnostic for a model whose validation error
has its minimum early, which the row's settings and the page say. ``--batched`` trains the seeds of
each model as one batched model (:func:`symlib.seeds.train_seeds`, compiled likewise): the same runs
up to rounding, at 1.3–1.4× the seed-steps per second on one core (``benchmarks/bench_reproduce.py``);
each run records the seeds it was batched with.
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
                    "dtype": "float32", "reported": "test accuracy after the last step",
                    "same_test_set_as_paper": True}


#: The MNIST-1D protocols (``--protocol``): steps, batch order, how the positions are shuffled, file.
_IN_ORDER = "in order, x[bix:bix + 100] (notebooks/train.py)"
_NOTEBOOK_PERMUTATION = "np.random.seed(42); np.random.permutation(40)"
MNIST1D_PROTOCOLS = {
    "book": {"steps": 8_000, "batches": "shuffled every epoch", "permutation": "torch.randperm(40), seed 0",
             "file": "mnist1d"},
    "repository": {"steps": 8_001, "batches": _IN_ORDER, "permutation": _NOTEBOOK_PERMUTATION,
                   "file": "mnist1d-repository"},
    "notebook": {"steps": 6_001, "batches": _IN_ORDER, "permutation": _NOTEBOOK_PERMUTATION,
                 "file": "mnist1d-notebook"},
}


def mnist1d_permutation(protocol: str):
    """The fixed permutation of the 40 positions a protocol's shuffled signals use: int64 ``[40]``."""
    import numpy as np
    import torch

    from symlib.data.mnist1d import position_permutation

    if protocol == "book":
        return position_permutation(seed=MNIST1D_SETTINGS["permutation_seed"])
    return torch.from_numpy(np.random.RandomState(42).permutation(40))   # the authors' notebook


def mnist1d_run(model: str, signals: str, seed: int, steps: int, checkpoints: str | None,
                protocol: str = "book") -> dict:
    """Train one MNIST-1D baseline on one seed under ``protocol``; return its test accuracy and wall
    time."""
    import torch
    import torch.nn.functional as F

    from symlib.data.mnist1d import load, permute_positions
    from symlib.layers import mnist1d
    from symlib.train import train

    torch.set_num_threads(1)
    train_set, test_set = load()
    if signals == "shuffled":
        perm = mnist1d_permutation(protocol)
        train_set, test_set = permute_positions(train_set, perm), permute_positions(test_set, perm)
    make = {"MLP": mnist1d.residual_mlp, "CNN": mnist1d.cnn}[model]
    tag = "" if protocol == "book" else f"{protocol}-"
    checkpoint = (None if checkpoints is None
                  else Path(checkpoints) / f"mnist1d-{tag}{model}-{signals}-{seed}.pt")
    start = time.perf_counter()
    net, _ = train(make, lambda m, b: F.cross_entropy(m(b[0]), b[1]), train_set, seed=seed, steps=steps,
                   batch_size=MNIST1D_SETTINGS["batch_size"], lr=MNIST1D_SETTINGS["lr"], device="cpu",
                   amp=False, checkpoint=checkpoint, checkpoint_every=1_000, progress=False,
                   shuffle=protocol == "book")
    x, y = test_set.tensors
    with torch.no_grad():
        accuracy = float((net.eval()(x).argmax(dim=1) == y).double().mean())
    return {"model": model, "signals": signals, "seed": seed, "test_accuracy": accuracy,
            "seconds": time.perf_counter() - start}


#: Table 2 of the EGNN paper: test MSE on the N-body task (Satorras et al. 2021), by model.
NBODY_PAPER = {"EGNN": 0.0071, "GNN": 0.0107, "Radial Field": 0.0104, "Linear": 0.0819}
NBODY_SETTINGS = {"epochs": 10_000, "batch_size": 100, "lr": 5e-4, "weight_decay": 1e-12,
                  "optimizer": "Adam, L2 weight decay", "hidden": 64, "layers": 4,
                  "train": 3_000, "valid": 2_000, "test": 2_000, "data_seed": 0, "eval_every_epochs": 5,
                  "dtype": "float32", "reported": "test MSE at the lowest validation MSE"}
#: Where a model's command in the authors' README sets another learning rate than ``NBODY_SETTINGS``.
NBODY_ROW_SETTINGS = {"GNN": {"lr": 1e-3}, "Radial Field": {"lr": 2e-4}}
NBODY_BATCHES_PER_EPOCH = NBODY_SETTINGS["train"] // NBODY_SETTINGS["batch_size"]
#: The N-body data, by ``--data``: this book's draw (:func:`symlib.data.nbody.load`,
#: ``results/nbody.json``); the same draw with the authors' frames (inputs and targets 100 simulator
#: steps later, ``results/nbody-frames.json``), which separates the frame convention from the draw;
#: or the authors' initial conditions and frames (:func:`symlib.data.nbody.load_authors`,
#: ``results/nbody-authors.json``).
NBODY_DATA = {"symlib": "nbody", "frames": "nbody-frames", "authors": "nbody-authors"}


def nbody_model(name: str):
    """A Table 2 model at the paper's sizes: ``model(pos, vel, charges) -> positions``."""
    from symlib.layers.egnn import EGNN, CoordinateGNN, LinearDynamics, RadialField

    width, depth = NBODY_SETTINGS["hidden"], NBODY_SETTINGS["layers"]
    make = {"EGNN": lambda: EGNN(width, depth),
            "GNN": lambda: CoordinateGNN(width, depth, predict="positions"),
            "Radial Field": lambda: RadialField(width, depth),
            "Linear": LinearDynamics}[name]
    return make()


def unwrap_checkpoint(path: Path) -> None:
    """Checkpoints written before the N-body models had one forward hold the model inside a ``Dense``
    wrapper (state keys ``model.…``); rewrite such a file once, atomically, without the prefix, so
    that it resumes into the model itself. The weights, optimizer state and RNG are unchanged."""
    import torch

    from symlib import checkpoint

    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["model"] and all(k.startswith("model.") for k in state["model"]):
        state["model"] = {k.removeprefix("model."): v for k, v in state["model"].items()}
        checkpoint.save(path, state)


def trained_models(directory: Path, data: str = "authors") -> dict:
    """Every Table 2 model that ``nbody --data data`` trained to the full schedule with its checkpoints
    in ``directory``, by ``"model, seed s"``: its weights after the last step (not at its best validation
    epoch), one model per seed of a batched run."""
    import re

    import torch

    steps = NBODY_SETTINGS["epochs"] * NBODY_BATCHES_PER_EPOCH
    name = re.compile(rf"{re.escape(NBODY_DATA[data])}-(?P<model>{'|'.join(map(re.escape, NBODY_PAPER))})"
                      rf"-(?P<tag>\d+|seeds[\d-]+)-{steps}")
    models = {}
    for path in sorted(directory.glob("*.pt")):
        match = name.fullmatch(path.stem)
        if match is None:
            continue
        if match["tag"].isdigit():
            unwrap_checkpoint(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
        weights = ([(int(match["tag"]), state["model"])] if match["tag"].isdigit() else
                   [(seed, {k: v[i] for k, v in {**state["params"], **state["buffers"]}.items()})
                    for i, seed in enumerate(state["seeds"])])
        for seed, params in weights:
            net = nbody_model(match["model"])
            net.load_state_dict(params)
            models[f"{match['model']}, seed {seed}"] = net.eval()
    return dict(sorted(models.items(), key=lambda kv: (list(NBODY_PAPER).index(kv[0].split(",")[0]),
                                                       int(kv[0].rsplit(" ", 1)[1]))))


def nbody_run(model: str, seed: int | list[int], steps: int, checkpoints: str | None, compile: bool,
              data: str = "symlib", device: str = "cpu") -> list[dict]:
    """Train one Table 2 model on ``data`` (a key of ``NBODY_DATA``); return, per seed, the test MSE at
    its best validation MSE. ``seed``: one seed (:func:`symlib.train.train`), or a list of seeds trained
    as one batched model (:func:`symlib.seeds.train_seeds`, ``--batched``: each seed its own initial
    weights, data order and optimizer state, equal to separate runs up to rounding). ``device``:
    ``"cpu"`` (one thread) or ``"cuda"``."""
    import torch
    import torch.nn.functional as F

    from symlib.data import nbody
    from symlib.seeds import train_seeds
    from symlib.train import train

    if device == "cpu":
        torch.set_num_threads(1)
    s = {**NBODY_SETTINGS, **NBODY_ROW_SETTINGS.get(model, {})}
    def load(split: str) -> nbody.NBody:
        if data == "authors":
            return nbody.load_authors(split)
        return nbody.load(split, seed=s["data_seed"], frames="authors" if data == "frames" else "book")

    train_set = load("train").dataset(device)
    held_out = {split: load(split).dataset(device).tensors for split in ("valid", "test")}
    stable = load("test").stable.to(device)

    def evaluate(net, *_) -> dict[str, float]:
        """Validation and test MSE, the test MSE's standard error over the test systems (how much
        another test set of the same size would move it, for a fixed model), and the test MSE on the
        stable test systems (those whose target any correct implementation reproduces)."""
        with torch.no_grad():
            errors = {split: (net(*t[:3]) - t[3]).square().flatten(1).mean(1)     # per system
                      for split, t in held_out.items()}
        return {"valid": float(errors["valid"].mean()), "test": float(errors["test"].mean()),
                "test_se": float(errors["test"].std() / len(errors["test"]) ** 0.5),
                "test_stable": float(errors["test"][stable].mean())}

    def adam(params):
        try:  # one fused kernel for all parameters (torch ≥ 2.4 on a CPU): the same update, faster
            return torch.optim.Adam(params, lr=s["lr"], weight_decay=s["weight_decay"], fused=True)
        except (RuntimeError, TypeError):
            return torch.optim.Adam(params, lr=s["lr"], weight_decay=s["weight_decay"])

    batched = isinstance(seed, list)
    seeds = seed if batched else [seed]
    tag = f"seeds{'-'.join(map(str, seeds))}" if batched else str(seed)
    name = f"{NBODY_DATA[data]}-{model}-{tag}-{steps}{'' if device == 'cpu' else '-' + device}.pt"
    checkpoint = None if checkpoints is None else Path(checkpoints) / name
    resumed = 0
    if checkpoint is not None and checkpoint.exists():
        if not batched:
            unwrap_checkpoint(checkpoint)
        resumed = torch.load(checkpoint, map_location="cpu", weights_only=True)["step"]
    start = time.perf_counter()
    settings = dict(steps=steps, batch_size=s["batch_size"], optimizer=adam, device=device, compile=compile,
                    evaluate=evaluate, eval_every=s["eval_every_epochs"] * NBODY_BATCHES_PER_EPOCH,
                    checkpoint=checkpoint, checkpoint_every=15_000)

    def make():
        return nbody_model(model)

    def loss(m, b):
        return F.mse_loss(m(*b[:3]), b[3])

    if batched:
        histories = train_seeds(make, loss, train_set, seeds, **settings).histories
    else:
        histories = [train(make, loss, train_set, seed=seeds[0], amp=False, **settings)[1]]
    seconds = (time.perf_counter() - start) / len(seeds)
    out = []
    for one, history in zip(seeds, histories):
        best = {key: history.best(key, by="valid") for key in ("test", "test_se", "test_stable", "step")}
        out.append({"model": model, "seed": one, "test_mse": best["test"], "test_se": best["test_se"],
                    "stable_test_mse": best["test_stable"],
                    "best_epoch": int(best["step"]) // NBODY_BATCHES_PER_EPOCH,
                    "final_test_mse": history.final("test"), "seconds": seconds, "resumed_at_step": resumed,
                    **({"batched_with": seeds} if batched else {})})
    return out


def run_all(fn, tasks: list[tuple], jobs: int, desc: str) -> list[dict]:
    """``fn(*task)`` for every task, ``jobs`` processes side by side (1: in this process)."""
    from tqdm.auto import tqdm

    if jobs == 1:
        return [fn(*t) for t in tqdm(tasks, desc=desc, disable=None)]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = [pool.submit(fn, *t) for t in tasks]
        return [f.result() for f in tqdm(concurrent.futures.as_completed(futures), total=len(futures),
                                         desc=desc, disable=None)]


def source() -> dict:
    """The code the runs are about to use: git commit, and whether symlib/ or scripts/ differ from it.
    Taken before the runs start, so that committing during a long run cannot relabel it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--", "symlib", "scripts"))}


def provenance(code: dict, wall: float, jobs: int, device: str = "cpu") -> dict:
    """Where and how the numbers were made; ``code``: :func:`source` before the runs; ``device``: where
    they trained (``"cuda"``: recorded with the GPU's name)."""
    import numpy as np
    import torch

    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    libc, version = platform.libc_ver()
    return {**code, "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(wall, 1), "jobs": jobs, "threads_per_run": 1,
            "device": device if device == "cpu" else f"{device} ({torch.cuda.get_device_name()})", "cpu": cpu,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cores": os.cpu_count(),
            "os": platform.platform(), "libc": f"{libc} {version}".strip() or "unknown",
            "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}


def data_digests(datasets: dict[str, object]) -> dict[str, str]:
    """The digest of every dataset a run uses, by name, after checking each against the committed
    table (:mod:`symlib.data.digests`): a result on data that another machine would not generate could
    not be regenerated there, so the run refuses to start."""
    from symlib.data.digests import DIGESTS, _tensors, digest

    out = {}
    for name, data in datasets.items():
        out[name] = digest(*_tensors(data))
        if out[name] != DIGESTS[name]:
            raise SystemExit(f"the dataset {name!r} generated here differs from the book's (sha256 "
                             f"{out[name][:16]}… instead of {DIGESTS[name][:16]}…): a result on it could "
                             "not be regenerated on another machine. See tests/test_data_digests.py.")
    return out


def reproduce_mnist1d(seeds: list[int], jobs: int, steps: int | None, out: Path,
                      checkpoints: str | None, protocol: str = "book") -> Path:
    """Every (model, signals) pair on every seed under ``protocol`` (:data:`MNIST1D_PROTOCOLS`;
    ``steps=None``: the protocol's); write ``out/<its file>.json``; return its path."""
    if protocol not in MNIST1D_PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}: expected one of {list(MNIST1D_PROTOCOLS)}")
    recipe = MNIST1D_PROTOCOLS[protocol]
    from symlib.data import mnist1d
    from symlib.stats import estimate

    full = recipe["steps"]
    steps = steps or full
    digests = data_digests({"mnist1d": mnist1d.load()})
    tasks = [(m, s, seed, steps, checkpoints, protocol) for (m, s) in MNIST1D_PAPER for seed in seeds]
    code, start = source(), time.perf_counter()
    runs = run_all(mnist1d_run, tasks, jobs, "mnist1d")
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
    settings = {**MNIST1D_SETTINGS, "protocol": protocol, "batches": recipe["batches"],
                "permutation": recipe["permutation"]}
    del settings["permutation_seed"]
    result = {"experiment": recipe["file"],
              "paper": "Greydanus (2020), Scaling down deep learning (the MNIST-1D baselines)",
              "metric": "test accuracy", "seeds": seeds,
              "settings": {**settings, "steps": steps, "reproduction": steps == full,
                           "data_digests": digests},
              "rows": rows, "provenance": provenance(code, wall, jobs),
              "regenerate": regenerate("mnist1d", protocol=protocol, seeds=seeds,
                                       steps=None if steps == full else steps)}
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{recipe['file']}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


def reproduce_nbody(seeds: list[int], jobs: int, steps: int | None, out: Path, checkpoints: str | None,
                    models: list[str] | None = None, compile: bool = True, data: str = "symlib",
                    epochs: int | None = None, batched: bool = False, device: str = "cpu") -> Path:
    """``models`` (default: all of Table 2) on every seed (``steps=None``: the paper's 300,000) and on
    ``data``; write their runs into ``out/<NBODY_DATA[data]>.json``, keeping the other models and seeds
    if the settings match.

    ``epochs`` trains the rows of this invocation for fewer epochs than the paper's 10,000 (model
    selection over those): a diagnostic, recorded in the rows' settings and said on the page, for a
    model whose validation error has its minimum early. ``steps`` (a smoke test) shortens the file.
    ``batched`` trains each model's seeds as one batched model (:func:`nbody_run`), recorded per run;
    ``device="cuda"`` trains on the GPU (recorded in each run's provenance).
    """
    models = models or list(NBODY_PAPER)
    if data not in NBODY_DATA:
        raise ValueError(f"unknown data {data!r}: expected one of {list(NBODY_DATA)}")
    if epochs is not None and not 0 < epochs <= NBODY_SETTINGS["epochs"]:
        raise ValueError(f"epochs must be in 1..{NBODY_SETTINGS['epochs']}, got {epochs}")
    paper_steps = NBODY_SETTINGS["epochs"] * NBODY_BATCHES_PER_EPOCH
    file_steps = steps or paper_steps
    run_steps = steps or (epochs or NBODY_SETTINGS["epochs"]) * NBODY_BATCHES_PER_EPOCH
    short = {"epochs": epochs} if epochs not in (None, NBODY_SETTINGS["epochs"]) and steps is None else {}
    base = {**NBODY_SETTINGS, "same_test_set_as_paper": False} if data == "symlib" else {
        **NBODY_SETTINGS, "frames": "the authors' (inputs after 3,100 simulator steps, targets after 4,100)",
        "same_test_set_as_paper": False} if data == "frames" else {
        **{k: v for k, v in NBODY_SETTINGS.items() if k != "data_seed"},
        "data": "the authors' initial conditions (numpy seed 43) and frames, this book's simulator",
        "same_test_set_as_paper": True}
    from symlib.data import nbody

    if data == "symlib":
        splits = {f"nbody-{s}-{NBODY_SETTINGS['data_seed']}": nbody.load(s) for s in nbody.SPLITS}
    elif data == "frames":
        splits = {f"nbody-{s}-{NBODY_SETTINGS['data_seed']}-authors-frames": nbody.load(s, frames="authors")
                  for s in nbody.SPLITS}
    else:
        splits = {f"nbody-authors-{s}": nbody.load_authors(s) for s in nbody.SPLITS}
    test = list(splits.values())[-1]
    settings = {**base, "steps": file_steps, "compiled": compile, "reproduction": file_steps == paper_steps,
                "data_digests": data_digests(splits),
                "stable_test_systems": f"{int(test.stable.sum())} of {len(test)}"}
    groups = [list(seeds)] if batched else seeds            # a list of seeds: one batched model
    tasks = [(m, group, run_steps, checkpoints, compile and m != "Linear", data, device)
             for m in models for group in groups]
    code, start = source(), time.perf_counter()
    runs = [run for runs in run_all(nbody_run, tasks, jobs, "nbody") for run in runs]
    prov = provenance(code, time.perf_counter() - start, jobs, device)
    path = out / f"{NBODY_DATA[data]}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    keep = old.get("settings") == settings
    rows = {label: row for label, row in old.get("rows", {}).items() if keep}
    for model in models:
        rows[model] = nbody_row(model, [r for r in runs if r["model"] == model], prov, rows.get(model), short)
    on = {"symlib": "", "frames": ", this book's draw with the authors' frames",
          "authors": ", on the authors' initial conditions"}[data]
    result = {"experiment": NBODY_DATA[data],
              "paper": "Satorras, Hoogeboom & Welling (2021), E(n) equivariant graph neural networks, "
                       f"Table 2 (N-body){on}",
              "metric": "test MSE", "format": ".4f",
              "rows": {m: rows[m] for m in NBODY_PAPER if m in rows}, "settings": settings,
              "regenerate": regenerate("nbody", data=data, steps=steps, compile=compile)}
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    return path


#: The per-seed fields of an N-body row (``runs``: each seed's wall time and provenance).
NBODY_PER_SEED = ("per_seed", "test_set_se", "stable_test_mse", "best_epoch", "final_test_mse", "runs")


def nbody_row(model: str, runs: list[dict], prov: dict, old: dict | None, short: dict | None = None) -> dict:
    """One row of ``nbody.json`` from this invocation's ``runs`` of ``model``; the seeds of ``old``
    (the row as it stood, at the same settings) that were not run again are kept, with their own
    provenance, so that seeds run in different sessions add up to one row. ``short``: ``{"epochs": E}``
    for runs shorter than the paper's; a row of other epochs is replaced, not joined."""
    from symlib.stats import estimate

    row_settings = {**NBODY_ROW_SETTINGS.get(model, {}), **(short or {})}
    if old is not None and old.get("settings", {}) != row_settings:
        old = None

    new = {"per_seed": "test_mse", "test_set_se": "test_se", "stable_test_mse": "stable_test_mse",
           "best_epoch": "best_epoch", "final_test_mse": "final_test_mse"}
    fields = {key: {str(r["seed"]): r[field] for r in runs} for key, field in new.items()}
    fields["runs"] = {str(r["seed"]): {"seconds": round(r["seconds"], 1), "provenance": prov,
                                       **({"resumed_at_step": r["resumed_at_step"]} if r["resumed_at_step"]
                                          else {}),
                                       **({"batched_with": r["batched_with"]} if "batched_with" in r else {})}
                      for r in runs}
    kept = [k for k in (old or {}).get("per_seed", {}) if k not in fields["per_seed"]]
    for key in NBODY_PER_SEED:
        fields[key] = dict(sorted({**{k: old[key][k] for k in kept}, **fields[key]}.items(),
                                  key=lambda item: int(item[0])))
    values = list(fields["per_seed"].values())
    e = estimate(values) if len(values) >= 2 else None              # a standard error needs two
    stable = list(fields["stable_test_mse"].values())
    row = {"model": model, "paper": NBODY_PAPER[model],
           "mean": e.mean if e else sum(values) / len(values), "se": e.se if e else None,
           "stable_mean": sum(stable) / len(stable), **fields}
    if row_settings:
        row["settings"] = row_settings
    return row


EXPERIMENTS = {"mnist1d": reproduce_mnist1d, "nbody": reproduce_nbody}


def regenerate(experiment: str, *, protocol: str = "book", seeds: list[int] | None = None,
               data: str = "symlib", steps: int | None = None, compile: bool = True) -> str:
    """The command that regenerates a results file (``nbody``: the part common to its rows; the page
    adds each row's ``--models``, ``--seeds`` and ``--batched``, since its seeds may come from
    several runs). Written into the file as ``"regenerate"``."""
    command = ["python scripts/reproduce.py", experiment]
    if experiment == "mnist1d":
        command += ["--protocol", protocol, "--seeds", *map(str, seeds or [])]
    else:
        command += ["--data", data] + ([] if compile else ["--no-compile"])
    return " ".join(command + ([] if steps is None else ["--steps", str(steps)]))


def arguments() -> argparse.ArgumentParser:
    """The command line (``tests/test_results.py`` parses every file's regenerating command with it)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiments", nargs="+", choices=[*EXPERIMENTS, "all"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="runs side by side")
    parser.add_argument("--steps", type=int, default=None, help="shorter runs, for a smoke test only")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--no-checkpoints", action="store_true", help="do not save or resume runs")
    parser.add_argument("--models", nargs="+", choices=list(NBODY_PAPER), default=None,
                        help="nbody: these models only (default: all); other rows of the file are kept")
    parser.add_argument("--no-compile", action="store_true", help="nbody: do not torch.compile the models")
    parser.add_argument("--data", choices=list(NBODY_DATA), default="symlib",
                        help="nbody: our draw, our draw with the authors' frames, or their systems")
    parser.add_argument("--epochs", type=int, default=None,
                        help="nbody: fewer epochs than the paper's (a diagnostic, said on the page)")
    parser.add_argument("--batched", action="store_true",
                        help="nbody: train each model's seeds as one batched model (symlib.seeds)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="nbody: where to train (cuda: the GPU; one run at a time, --jobs 1)")
    parser.add_argument("--protocol", choices=list(MNIST1D_PROTOCOLS), default="book",
                        help="mnist1d: this book's, the repository's train.py, or the authors' notebook")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = arguments()
    args = parser.parse_args(argv)
    names = list(EXPERIMENTS) if "all" in args.experiments else args.experiments
    if "mnist1d" in names and len(args.seeds) < 3:
        parser.error("mnist1d needs at least 3 seeds (mean ± standard error)")
    if args.device == "cuda":
        import torch

        if names != ["nbody"] or args.jobs != 1:
            parser.error("--device cuda trains the nbody experiment only, with --jobs 1")
        if not torch.cuda.is_available():
            parser.error("--device cuda, but torch sees no CUDA device")
    checkpoints = None if args.no_checkpoints else str(ROOT / "checkpoints" / "reproduce")
    extra = {"nbody": {"models": args.models, "compile": not args.no_compile, "data": args.data,
                       "epochs": args.epochs, "batched": args.batched,
                       "device": args.device},
             "mnist1d": {"protocol": args.protocol}}
    for name in names:
        path = EXPERIMENTS[name](args.seeds, args.jobs, args.steps, args.out, checkpoints,
                                 **extra.get(name, {}))
        result = json.loads(path.read_text())
        print(f"{name}: wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        fmt = result.get("format", ".1%")
        for label, row in result["rows"].items():
            se = "(no SE)" if row["se"] is None else f"± {row['se']:{fmt}}"
            print(f"  {label:<22} {row['mean']:{fmt}} {se}   paper {row['paper']:{fmt}}")


if __name__ == "__main__":
    main()
