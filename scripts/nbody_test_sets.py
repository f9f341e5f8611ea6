"""The same trained N-body models on many test sets: how far a row moves with its test set alone.

    python scripts/nbody_test_sets.py [CHECKPOINT_DIR ...]   # writes results/nbody-test-sets.json (minutes)

A row of the Reproductions page is a test MSE on one test set of 2,000 systems; the paper's number is
on the authors' test set, ours on a fresh draw. This script takes every model that
``scripts/reproduce.py nbody --data authors`` trained to the full schedule (its weights after the last
step, from ``checkpoints/reproduce/`` or the directories given) and evaluates it, unchanged, on test
sets of 2,000 systems that differ only in which systems were drawn, all with the authors' frames: the
authors' test split, our draw's (data seed 0, as in ``nbody --data frames``), and the test splits of
three more draws of ours (data seeds 1-3). Per model and set it records the test MSE and its standard
error over the systems.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

DRAWS = (0, 1, 2, 3)                 # data seeds of our draws (the tables use data seed 0)


def held_out_sets() -> dict:
    """The test sets by name, each an :class:`symlib.data.nbody.NBody` of 2,000 systems, and the name
    of its digest in :data:`symlib.data.digests.DIGESTS`."""
    from symlib.data import nbody

    sets = {"the authors' test split": ("nbody-authors-test", nbody.load_authors("test"))}
    for seed in DRAWS:
        name = "our draw's test split" if seed == 0 else f"draw {seed}'s test split"
        sets[name] = (f"nbody-test-{seed}-authors-frames", nbody.load("test", seed=seed, frames="authors"))
    return sets


def main(directories: list[Path]) -> None:
    import reproduce
    import torch

    torch.set_num_threads(1)
    code, start = reproduce.source(), time.perf_counter()
    models = {k: v for d in directories for k, v in reproduce.trained_models(d).items()}
    if not models:
        raise SystemExit(f"no model trained on the authors' systems in {[str(d) for d in directories]}")
    sets = held_out_sets()
    table = {label: {} for label in models}
    for name, (_, data) in sets.items():
        with torch.no_grad():
            for label, net in models.items():
                errors = (net(data.pos, data.vel, data.charges) - data.target).square().flatten(1).mean(1)
                se = float(errors.std() / len(errors) ** 0.5)
                table[label][name] = {"mse": float(errors.mean()), "se": se}
    result = {"experiment": "nbody-test-sets",
              "what": "models trained on the authors' systems (weights after the last step), evaluated "
                      "unchanged on test sets of 2,000 systems that differ only in the systems drawn",
              "sets": {name: {"systems": len(data), "data": key, "digest": data.digest()}
                       for name, (key, data) in sets.items()},
              "models": table,
              "provenance": reproduce.provenance(code, time.perf_counter() - start, jobs=1)}
    path = ROOT / "results" / "nbody-test-sets.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(table, indent=1))


if __name__ == "__main__":
    main([Path(d) for d in sys.argv[1:]] or [ROOT / "checkpoints" / "reproduce"])
