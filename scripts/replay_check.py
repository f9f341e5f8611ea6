"""How far this book's replay of the authors' N-body systems is from numpy's own draws on this machine.

    python scripts/replay_check.py            # writes results/nbody-replay.json (about two minutes)

numpy's legacy ``randn`` computes its normals through the C library's ``log``, which is not correctly
rounded and differs between C libraries; :func:`symlib.data.nbody.load_authors` replays the authors'
random stream with a correctly rounded ``log`` instead (:func:`symlib.portable.legacy_randn`), so that
every machine gets the same systems. This script draws the authors' initial conditions both ways,
integrates both with this book's simulator, and records per split: how many initial values and systems
differ, how many targets move by more than ``1e-6`` and ``1e-3``, the mean squared difference of the
targets (in the units of the test MSE), and how many systems are unstable (``NBody.stable``). For every
model that ``scripts/reproduce.py nbody --data authors`` has trained here (its checkpoint after the last
step, under ``checkpoints/reproduce/``), it also records the test MSE on both test splits.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main() -> None:
    import reproduce
    import torch

    from symlib.data import nbody

    torch.set_num_threads(1)
    code, start = reproduce.source(), time.perf_counter()
    splits, tests = {}, {}
    for split, size in nbody.SPLITS.items():
        ours = nbody.authors_initial_conditions(split, size)
        numpy_ = nbody.authors_initial_conditions(split, size, normals=lambda rng, *shape: rng.randn(*shape))
        differ = [a != b for a, b in zip(ours, numpy_)]
        a = nbody._frames(*ours, offset=1, stability=True)
        b = nbody._frames(*numpy_, offset=1)
        moved = (a.target.double() - b.target.double()).abs().flatten(1).amax(1)
        splits[split] = {
            "systems": size,
            "initial_values_differing": int(sum(d.sum() for d in differ)),
            "systems_with_differing_initial_state": int(torch.stack([d.flatten(1).any(1) for d in differ])
                                                        .any(0).sum()),
            "targets_moved_over_1e-6": int((moved > 1e-6).sum()),
            "targets_moved_over_1e-3": int((moved > 1e-3).sum()),
            "stable_systems_moved_over_1e-6": int(((moved > 1e-6) & a.stable).sum()),
            "mean_squared_target_difference": float((a.target - b.target).square().flatten(1).mean(1).mean()),
            "unstable_systems": int((~a.stable).sum()),
            "digest": a.digest()}
        if split == "test":
            tests = {"portable": a, "numpy": b}
    models = {}
    for label, net in reproduce.trained_models(ROOT / "checkpoints" / "reproduce").items():
        with torch.no_grad():
            mse = {k: float((net(t.pos, t.vel, t.charges) - t.target).square().mean())
                   for k, t in tests.items()}
        models[label] = {"test_mse_portable_replay": mse["portable"], "test_mse_numpy_replay": mse["numpy"]}
    result = {"experiment": "nbody-replay",
              "what": "the authors' N-body systems replayed with a correctly rounded log (this book) "
                      "against numpy's own randn through this machine's C library",
              "splits": splits, "models": models,
              "provenance": reproduce.provenance(code, time.perf_counter() - start, jobs=1)}
    path = ROOT / "results" / "nbody-replay.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("splits", "models")}, indent=1))


if __name__ == "__main__":
    main()
